"""Content-addressed storage of raw payloads, written before anything parses them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hub_pipeline.lib.outputs import write_bytes_atomic


def payload_path(raw_dir: Path, sha256: str) -> Path:
    return raw_dir / sha256[:2] / f"{sha256}.bin"


def store_payload(raw_dir: Path, body: bytes) -> tuple[str, Path]:
    """Store ``body`` under its SHA-256 and return (digest, path); storing twice is a no-op.

    The file is written to a temporary name and renamed, so a crash never leaves a partial
    payload under a digest name.
    """
    digest = hashlib.sha256(body).hexdigest()
    path = payload_path(raw_dir, digest)
    if path.exists():
        return digest, path
    write_bytes_atomic(path, body, durable=True)
    return digest, path


def read_payload(raw_dir: Path, sha256: str) -> bytes:
    """Read a stored payload, checking that its bytes still match the digest."""
    path = payload_path(raw_dir, sha256)
    body = path.read_bytes()
    if hashlib.sha256(body).hexdigest() != sha256:
        raise ValueError(f"stored payload {path} does not match its digest; restore it from a backup or re-fetch the day")
    return body

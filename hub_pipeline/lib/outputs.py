"""Writing output files so that a reader never sees a half-written one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8, "\\n" line ends) to ``path`` through a temporary file and a rename."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling and a rename.

    The file gets the permissions a plain ``open`` would give it (0666 less the umask), not the
    0600 of the temporary file, so a web server or another user can read a published site.
    ``durable`` flushes the bytes to disk before the rename, for files that must survive a crash.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            os.fchmod(file.fileno(), 0o666 & ~_umask())
            file.write(data)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """Return the process umask without changing it (Linux lists it in /proc/self/status)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    current = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(current)
    return current

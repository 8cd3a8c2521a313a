"""Output files: written whole, and readable as a plain open() would make them."""

import os
import stat

import pytest

from hub_pipeline.lib.outputs import write_bytes_atomic, write_text_atomic
from hub_pipeline.lib.rawstore import read_payload, store_payload
from hub_pipeline.lib.site.render import _write_text


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_files_follow_umask(tmp_path, umask_022):
    # tempfile.mkstemp creates 0600 files; a published site must be readable by a web server.
    page = _write_text(tmp_path / "site" / "r" / "2025-03-20.html", "<p>页面</p>\n")
    briefing = write_text_atomic(tmp_path / "briefings" / "r" / "2025-03-20.md", "# 简报\n")
    digest, payload = store_payload(tmp_path / "raw", b"<rss/>")
    assert [mode(path) for path in (page, briefing, payload)] == [0o644] * 3
    assert page.read_text(encoding="utf-8") == "<p>页面</p>\n"
    assert read_payload(tmp_path / "raw", digest) == b"<rss/>"


def test_umask_077_keeps_files_private(tmp_path):
    previous = os.umask(0o077)
    try:
        path = write_bytes_atomic(tmp_path / "private.json", b"{}", durable=True)
    finally:
        os.umask(previous)
    assert mode(path) == 0o600


def test_no_temporary_file_is_left(tmp_path):
    write_text_atomic(tmp_path / "a.md", "one")
    write_text_atomic(tmp_path / "a.md", "two")
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]
    assert (tmp_path / "a.md").read_text(encoding="utf-8") == "two"

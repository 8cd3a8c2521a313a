"""Tests for hub_pipeline.lib.fetching over real HTTP to a server on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from hub_pipeline.lib.fetching import FetchSettings, fetch, sniff_not_a_feed
from tests.http_fixtures import Reply, serve

FIXTURES = Path(
    os.environ.get("HUB_FIXTURES_DIR") or Path(__file__).resolve().parents[2] / "shared" / "fixtures"
)
ARXIV_RSS = FIXTURES / "arxiv_rss" / "arxiv_rss_cs.SD_2026-03-06.xml"
NATURE_HTML = FIXTURES / "tricky" / "nature_feed-url-returned-HTML-page-not-XML_2023-07-05.html"

USER_AGENT = "AcademicHub-tests/0.1 (mailto:ops@example.org)"
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
RSS_TYPE = {"Content-Type": "application/rss+xml"}
LAST_MODIFIED = "Fri, 06 Mar 2026 05:00:00 GMT"


@pytest.fixture
def settings() -> FetchSettings:
    # Small backoff and timeout so that retry tests take milliseconds, not seconds.
    return FetchSettings(user_agent=USER_AGENT, timeout_s=2.0, max_attempts=3, backoff_base_s=0.01)


def _gap_s(server, path: str) -> float:
    first, second = server.requests_to(path)[:2]
    return second.received_at - first.received_at


# --- success and conditional GET ---


def test_200_returns_body_and_validators(settings):
    headers = {**RSS_TYPE, "ETag": '"v1"', "Last-Modified": LAST_MODIFIED}
    with serve({"/feed": Reply(200, RSS, headers)}) as server:
        result = fetch(server.url("/feed"), settings)

    assert result.outcome == "fetched"
    assert result.status == 200
    assert result.body == RSS
    assert result.etag == '"v1"'
    assert result.last_modified == LAST_MODIFIED
    assert result.content_type == "application/rss+xml"
    assert result.reason is None
    assert result.attempts == 1


def test_user_agent_sent(settings):
    with serve({"/feed": Reply(200, RSS)}) as server:
        fetch(server.url("/feed"), settings)

    assert server.requests_to("/feed")[0].headers["user-agent"] == USER_AGENT


def test_304_on_conditional_get(settings):
    with serve({"/feed": Reply(304, headers={"ETag": '"v1"'})}) as server:
        result = fetch(server.url("/feed"), settings, etag='"v1"', last_modified=LAST_MODIFIED)

    received = server.requests_to("/feed")[0].headers
    assert received["if-none-match"] == '"v1"'
    assert received["if-modified-since"] == LAST_MODIFIED
    assert result.outcome == "not_modified"
    assert result.status == 304
    assert result.body is None
    assert "304" in result.reason
    assert server.url("/feed") in result.reason


def test_304_keeps_sent_validators(settings):
    # The server omits both validators in its 304, as many servers do.
    with serve({"/feed": Reply(304)}) as server:
        result = fetch(server.url("/feed"), settings, etag='"v1"', last_modified=LAST_MODIFIED)

    assert result.etag == '"v1"'
    assert result.last_modified == LAST_MODIFIED


def test_no_conditional_headers_without_validators(settings):
    with serve({"/feed": Reply(200, RSS)}) as server:
        fetch(server.url("/feed"), settings)

    received = server.requests_to("/feed")[0].headers
    assert "if-none-match" not in received
    assert "if-modified-since" not in received


def test_redirect_followed(settings):
    routes = {"/old": Reply(301, headers={"Location": "/feed"}), "/feed": Reply(200, RSS)}
    with serve(routes) as server:
        result = fetch(server.url("/old"), settings)

    assert result.outcome == "fetched"
    assert result.body == RSS
    assert result.url == server.url("/old")


def test_passed_client_used_and_left_open(settings):
    with serve({"/feed": Reply(200, RSS)}) as server, httpx.Client() as client:
        result = fetch(server.url("/feed"), settings, client=client)
        assert not client.is_closed

    assert result.outcome == "fetched"
    assert server.requests_to("/feed")[0].headers["user-agent"] == USER_AGENT


# --- retries ---


def test_429_honours_retry_after(settings):
    replies = [Reply(429, b"slow down", {"Retry-After": "1"}), Reply(200, RSS)]
    with serve({"/feed": replies}) as server:
        result = fetch(server.url("/feed"), settings)

    assert result.outcome == "fetched"
    assert result.attempts == 2
    # Loose bound: without Retry-After the backoff would wait about 0.01-0.02 s.
    assert _gap_s(server, "/feed") >= 0.9


def test_503_honours_retry_after_http_date(settings):
    # HTTP dates have whole seconds, so "now + 2 s" means a wait between 1 and 2 s.
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=2), usegmt=True)
    replies = [Reply(503, headers={"Retry-After": when}), Reply(200, RSS)]
    with serve({"/feed": replies}) as server:
        result = fetch(server.url("/feed"), settings)

    assert result.outcome == "fetched"
    assert result.attempts == 2
    assert _gap_s(server, "/feed") >= 0.5


def test_retry_after_capped(settings):
    settings.max_retry_after_s = 0.3
    replies = [Reply(429, headers={"Retry-After": "3600"}), Reply(200, RSS)]
    with serve({"/feed": replies}) as server:
        result = fetch(server.url("/feed"), settings)

    assert result.outcome == "fetched"
    assert _gap_s(server, "/feed") >= 0.25
    assert _gap_s(server, "/feed") < 2.0


def test_500_then_200(settings):
    with serve({"/feed": [Reply(500, b"oops"), Reply(200, RSS)]}) as server:
        result = fetch(server.url("/feed"), settings)

    assert result.outcome == "fetched"
    assert result.status == 200
    assert result.body == RSS
    assert result.attempts == 2


def test_always_503_gives_up(settings):
    with serve({"/feed": Reply(503, b"maintenance")}) as server:
        result = fetch(server.url("/feed"), settings)

    assert result.outcome == "source_error"
    assert result.status == 503
    assert result.attempts == 3
    assert len(server.requests_to("/feed")) == 3
    assert result.reason == f"GET {server.url('/feed')} failed after 3 attempts: HTTP 503 Service Unavailable"
    assert result.body == b"maintenance"


def test_timeout_gives_up(settings):
    settings.timeout_s = 0.2
    settings.max_attempts = 2
    with serve({"/slow": Reply(200, RSS, delay_s=5.0)}) as server:
        result = fetch(server.url("/slow"), settings)

    assert result.outcome == "source_error"
    assert result.status is None
    assert result.attempts == 2
    assert "timed out after 0.2 s" in result.reason
    assert result.elapsed_s < 3.0


def test_connection_refused_gives_up(settings):
    # Bind and release a port so that nothing listens on it.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = fetch(f"http://127.0.0.1:{port}/feed", settings)

    assert result.outcome == "source_error"
    assert result.status is None
    assert result.attempts == 3
    assert "ConnectError" in result.reason


def test_404_not_retried(settings):
    with serve({"/gone": Reply(404, b"Not Found")}) as server:
        result = fetch(server.url("/gone"), settings)

    assert result.outcome == "source_error"
    assert result.status == 404
    assert result.attempts == 1
    assert len(server.requests_to("/gone")) == 1
    assert "HTTP 404 Not Found" in result.reason
    assert "sources config" in result.reason
    assert result.body == b"Not Found"


def test_retry_logged_with_url_and_wait(settings, caplog):
    with caplog.at_level(logging.WARNING, logger="hub_pipeline.lib.fetching"):
        with serve({"/feed": [Reply(500), Reply(200, RSS)]}) as server:
            fetch(server.url("/feed"), settings)

    messages = [record.getMessage() for record in caplog.records]
    retry_lines = [message for message in messages if "retrying in" in message]
    assert len(retry_lines) == 1
    assert server.url("/feed") in retry_lines[0]
    assert "attempt 1 of 3" in retry_lines[0]


def test_secret_query_value_not_logged(settings, caplog):
    # Root level DEBUG also captures the request line that httpx logs and the failure's reason.
    with caplog.at_level(logging.DEBUG):
        with serve({"/feed": Reply(503)}) as server:
            result = fetch(server.url("/feed?api_key=S3CRET&q=cs.CL"), settings)

    assert "S3CRET" not in caplog.text
    assert "S3CRET" not in result.reason
    assert "q=cs.CL" in result.reason


# --- bodies that are not feeds, and size limits ---


def test_html_page_with_200_rejected(settings):
    page = b"\n  <!doctype HTML>\n<html><head><title>Sign in</title></head><body>Log in</body></html>"
    with serve({"/feed": Reply(200, page, {"Content-Type": "text/html; charset=utf-8"})}) as server:
        result = fetch(server.url("/feed"), settings)

    assert result.outcome == "source_error"
    assert result.status == 200
    assert result.body == page
    assert "HTML page" in result.reason
    assert result.attempts == 1


def test_rate_exceeded_text_rejected(settings):
    with serve({"/feed": Reply(200, b"Rate exceeded.", {"Content-Type": "text/plain"})}) as server:
        result = fetch(server.url("/feed"), settings)

    assert result.outcome == "source_error"
    assert "'Rate exceeded.'" in result.reason
    assert result.body == b"Rate exceeded."


def test_empty_body_rejected(settings):
    with serve({"/feed": Reply(200, b"", RSS_TYPE)}) as server:
        result = fetch(server.url("/feed"), settings)

    assert result.outcome == "source_error"
    assert "empty" in result.reason
    assert result.body == b""


def test_nature_html_fixture_rejected(settings):
    page = NATURE_HTML.read_bytes()
    with serve({"/nature.rss": Reply(200, page, RSS_TYPE)}) as server:
        result = fetch(server.url("/nature.rss"), settings)

    assert result.outcome == "source_error"
    assert "HTML page" in result.reason
    assert "'<!DOCTYPE html>'" in result.reason
    assert result.body == page


def test_arxiv_rss_fixture_accepted(settings):
    payload = ARXIV_RSS.read_bytes()
    reply = Reply(200, payload, {"Content-Type": "application/rss+xml; charset=utf-8"})
    with serve({"/rss/cs.SD": reply}) as server:
        result = fetch(server.url("/rss/cs.SD"), settings)

    assert result.outcome == "fetched"
    assert result.status == 200
    assert len(result.body) == 53159
    assert result.body == payload


@pytest.mark.parametrize("send_content_length", [True, False])
def test_oversize_body_rejected(settings, send_content_length):
    settings.max_bytes = 1000
    body = b"<rss>" + b"x" * 5000 + b"</rss>"
    reply = Reply(200, body, RSS_TYPE, send_content_length=send_content_length)
    with serve({"/big": reply}) as server:
        result = fetch(server.url("/big"), settings)

    assert result.outcome == "source_error"
    assert result.body is None
    assert "larger than 1000 bytes" in result.reason
    assert result.attempts == 1


def test_body_at_limit_accepted(settings):
    settings.max_bytes = len(RSS)
    with serve({"/feed": Reply(200, RSS, send_content_length=False)}) as server:
        result = fetch(server.url("/feed"), settings)

    assert result.outcome == "fetched"
    assert result.body == RSS


# --- local files and unsupported URLs ---


def test_file_url_read(settings, tmp_path):
    path = tmp_path / "feed with space.xml"
    path.write_bytes(RSS)
    result = fetch(path.as_uri(), settings)

    assert result.outcome == "fetched"
    assert result.status is None
    assert result.body == RSS
    assert result.attempts == 1


def test_absolute_path_read(settings, tmp_path):
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS)
    result = fetch(str(path), settings)

    assert result.outcome == "fetched"
    assert result.body == RSS


def test_missing_file_is_source_error(settings, tmp_path):
    path = tmp_path / "missing.xml"
    result = fetch(path.as_uri(), settings)

    assert result.outcome == "source_error"
    assert result.status is None
    assert result.body is None
    assert str(path) in result.reason
    assert "Check the source's url in the sources config" in result.reason


def test_html_file_rejected(settings, tmp_path):
    path = tmp_path / "nature.rss"
    path.write_bytes(NATURE_HTML.read_bytes())
    result = fetch(path.as_uri(), settings)

    assert result.outcome == "source_error"
    assert "HTML page" in result.reason


def test_unsupported_scheme_is_source_error(settings):
    result = fetch("ftp://127.0.0.1/feed.xml", settings)

    assert result.outcome == "source_error"
    assert "ftp://127.0.0.1/feed.xml" in result.reason
    assert result.attempts == 0


def test_settings_reject_zero_attempts():
    with pytest.raises(ValueError, match="max_attempts"):
        FetchSettings(user_agent=USER_AGENT, max_attempts=0)


# --- sniff_not_a_feed on inline bodies ---

FEEDS = [
    pytest.param(RSS, "application/rss+xml", id="rss"),
    pytest.param(b'\xef\xbb\xbf<?xml version="1.0"?><feed/>', None, id="utf8-bom-atom"),
    pytest.param('<?xml version="1.0"?><rss/>'.encode("utf-16"), None, id="utf16-rss"),
    pytest.param(b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', None, id="rss1-rdf"),
    pytest.param(b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "text/html", id="atom-as-text-html"),
    pytest.param(b'<?xml version="1.0"?><result/>', "text/html", id="xml-decl-as-text-html"),
    pytest.param(b'<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN"><rss/>', None, id="rss-doctype"),
    pytest.param(b'  {"collection": []}', "application/json", id="json-object"),
    pytest.param(b"[1, 2]", None, id="json-array"),
    pytest.param(b"\n" * 5000 + RSS, None, id="rss-after-long-blank-run"),
    pytest.param(b"<OAI-PMH><ListRecords/></OAI-PMH>", "text/xml", id="oai-pmh"),
]

NOT_FEEDS = [
    pytest.param(b"", None, "empty", id="empty"),
    pytest.param(b" \r\n\t", None, "whitespace", id="whitespace"),
    pytest.param(b"<HTML><body>hi</body></HTML>", None, "HTML page", id="html-upper"),
    pytest.param(b"<!-- note --><html>", "application/xml", "HTML page", id="comment-then-html"),
    pytest.param(
        b'<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"><html/>',
        "application/xhtml+xml",
        "HTML page",
        id="xhtml",
    ),
    pytest.param(b"<head><title>Error</title></head>", "text/html", "text/html", id="html-fragment"),
    pytest.param(b"Rate exceeded.", None, "plain text", id="rate-exceeded"),
    pytest.param(b"%PDF-1.7\n...", "application/pdf", "plain text", id="pdf"),
]


@pytest.mark.parametrize(("body", "content_type"), FEEDS)
def test_sniff_accepts_feeds(body, content_type):
    assert sniff_not_a_feed(body, content_type) is None


@pytest.mark.parametrize(("body", "content_type", "expected"), NOT_FEEDS)
def test_sniff_rejects_non_feeds(body, content_type, expected):
    reason = sniff_not_a_feed(body, content_type)

    assert reason is not None
    assert expected in reason

"""Fetch one source payload over HTTP(S) or from a local file, for the pipeline's fetch step.

`fetch` does not raise for network, HTTP or file problems. Each failure comes back as a
`FetchResult` with outcome "source_error" and a reason that names the URL, so one broken
source fails only itself. Retries, timeouts and the size limit live here, not in callers.
"""

from __future__ import annotations

import codecs
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit
from urllib.request import url2pathname

import httpx
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from hub_pipeline.lib.xml_safety import xml_hazard

# Retries are logged as warnings here. A fetch's outcome goes to DEBUG, because the caller
# logs a failure's reason with its source and day.
logger = logging.getLogger(__name__)

# Statuses that usually clear up on their own: rate limits, overloaded or restarting servers.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Statuses whose Retry-After header states how long to wait (RFC 9110, section 10.2.3).
RETRY_AFTER_STATUSES = frozenset({429, 503})

# Transport failures worth another attempt. The rest of httpx.HTTPError (invalid URL,
# unsupported scheme, too many redirects, undecodable content) fails the same way every time.
_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

# How far into the body the sniffer looks for the root element.
_SNIFF_BYTES = 4096
_TEXT_QUOTE_CHARS = 80
# Local names of the root elements of RSS 0.9x/2.0, RSS 1.0 (rdf:RDF), Atom and OAI-PMH.
_FEED_ROOTS = frozenset({"rss", "rdf", "feed", "oai-pmh"})
# Names of query parameters whose values are masked in logs and reasons: "key", "api_key",
# "apiKey", "access_token", "client_secret", "sig" and the like, but not "author" or "mailto".
_SECRET_PARAM = re.compile(
    r"(?:^|[_-]|api)(?:key|token|secret|password|passwd|sig|signature|auth)$", re.IGNORECASE
)


class _RedactUrlFilter(logging.Filter):
    """Mask secrets in the URL that httpx logs at INFO level for every request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _redact(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


_HTTPX_LOG_FILTER = _RedactUrlFilter()


@dataclass(slots=True)
class FetchSettings:
    """Network settings for fetching source payloads, shared by every source."""

    user_agent: str  # must include a contact address, e.g. "AcademicHub/0.1 (mailto:ops@example.org)"
    timeout_s: float = 30.0  # seconds per request, applied to connect, read, write and pool waits
    max_attempts: int = 4  # including the first
    backoff_base_s: float = 1.0  # first backoff wait, doubled per attempt, plus jitter up to this much
    max_retry_after_s: float = 120.0  # maximum wait in seconds, for Retry-After and backoff alike
    max_bytes: int = 50_000_000  # bodies larger than this are rejected as a source error

    def __post_init__(self) -> None:
        if not self.user_agent.strip():
            raise ValueError("FetchSettings.user_agent is empty. Set it to a name with a contact address")
        if self.timeout_s <= 0:
            raise ValueError(f"FetchSettings.timeout_s must be positive, got {self.timeout_s}")
        if self.max_attempts < 1:
            raise ValueError(f"FetchSettings.max_attempts must be at least 1, got {self.max_attempts}")
        if self.backoff_base_s < 0 or self.max_retry_after_s < 0:
            raise ValueError("FetchSettings.backoff_base_s and max_retry_after_s must not be negative")
        if self.max_bytes < 1:
            raise ValueError(f"FetchSettings.max_bytes must be positive, got {self.max_bytes}")


@dataclass(slots=True)
class FetchResult:
    """The outcome of fetching one URL, with the raw body to store."""

    url: str  # the URL as requested, before any redirect
    status: int | None  # HTTP status of the final attempt, or None for local files and network errors
    body: bytes | None  # the bytes to store raw, error responses included, or None for 304 and oversize
    etag: str | None
    last_modified: str | None
    content_type: str | None
    outcome: str  # "fetched" | "not_modified" | "source_error"
    reason: str | None  # plain-English reason for not_modified and source_error, naming URL and status
    attempts: int
    elapsed_s: float


@dataclass(slots=True)
class _Attempt:
    """One HTTP attempt: a response (possibly an error status) or a transport error."""

    status: int | None = None
    status_text: str = ""  # e.g. "HTTP 503 Service Unavailable" or "read timed out after 30 s"
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    retryable: bool = False
    retry_after_s: float | None = None  # the server's Retry-After, already capped
    oversize: bool = False
    final_url: str | None = None


def fetch(
    url: str,
    settings: FetchSettings,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
) -> FetchResult:
    """Fetch one payload from an http(s) URL, a file:// URL or an absolute path.

    Sends If-None-Match / If-Modified-Since when `etag` / `last_modified` are given. A
    passed-in `client` is left open. Without one, a new client is made and closed.
    """
    started = time.monotonic()
    scheme = urlsplit(url).scheme.lower()

    if scheme == "file" or (not scheme and Path(url).is_absolute()):
        return _read_local(url, settings, started)
    if scheme not in ("http", "https"):
        reason = (
            f"Unsupported source URL {_redact(url)!r}. Set the source's url in the sources config "
            "to an http(s):// URL, a file:// URL or an absolute path"
        )
        logger.debug("%s", reason)
        return _result(url, outcome="source_error", reason=reason, attempts=0, started=started)

    # Installed on first use rather than at import, so importing this module changes no logging.
    httpx_logger = logging.getLogger("httpx")
    if _HTTPX_LOG_FILTER not in httpx_logger.filters:
        httpx_logger.addFilter(_HTTPX_LOG_FILTER)

    if client is None:
        with httpx.Client(timeout=settings.timeout_s, follow_redirects=True) as own_client:
            return _fetch_http(url, settings, etag, last_modified, own_client, started)
    return _fetch_http(url, settings, etag, last_modified, client, started)


def sniff_not_a_feed(body: bytes, content_type: str | None) -> str | None:
    """Return why `body` cannot be a feed or API payload, or None when it may be one.

    Only the first bytes are inspected: a body that passes may still fail to parse. The
    reason is a lower-case clause that reads after a prefix, e.g. f"{url}: {reason}".
    """
    head = _decode_head(body)
    if not head.strip() and len(body) > _SNIFF_BYTES:
        head = _decode_head(body.lstrip())  # the markup starts after more blank bytes than the sniff reads
    if not head.strip():
        return "the body is empty" if not body else "the body contains only whitespace"
    text = head.lstrip()

    if text[0] in "{[":
        return None  # JSON APIs (bioRxiv, Crossref) and JSON Lines dumps
    if text[0] != "<":
        quoted = " ".join(text.split())[:_TEXT_QUOTE_CHARS]
        return f"the body is plain text, not a feed: {quoted!r}"

    hazard = xml_hazard(body)
    if hazard:
        return hazard
    is_html_doctype, root = _find_root(text)
    local_root = root.split(":")[-1] if root else None
    if is_html_doctype or local_root == "html":
        return f"the body is an HTML page, not a feed (it starts with {_quote_start(text)})"
    declares_html = content_type is not None and content_type.split(";")[0].strip().lower() == "text/html"
    has_feed_root = local_root in _FEED_ROOTS
    if declares_html and not has_feed_root and not text.startswith("<?xml"):
        return (
            "the body is served as text/html and has no RSS, Atom or XML root element "
            f"(it starts with {_quote_start(text)})"
        )
    return None


def _fetch_http(
    url: str,
    settings: FetchSettings,
    etag: str | None,
    last_modified: str | None,
    client: httpx.Client,
    started: float,
) -> FetchResult:
    """Run the GET with retries and turn the final attempt into a FetchResult."""
    headers = {"User-Agent": settings.user_agent}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    shown_url = _redact(url)

    retrying = Retrying(
        stop=stop_after_attempt(settings.max_attempts),
        wait=_make_wait(settings),
        retry=retry_if_result(lambda attempt: attempt.retryable),
        before_sleep=lambda state: _log_retry(shown_url, settings, state),
        # After the last attempt, hand back its _Attempt instead of raising RetryError.
        retry_error_callback=lambda state: state.outcome.result(),
    )
    attempt_number = 0

    def get_once() -> _Attempt:
        nonlocal attempt_number
        attempt_number += 1
        return _get_once(url, headers, settings, client)

    attempt: _Attempt = retrying(get_once)
    return _http_result(url, shown_url, attempt, attempt_number, etag, last_modified, settings, started)


def _get_once(url: str, headers: dict[str, str], settings: FetchSettings, client: httpx.Client) -> _Attempt:
    """Send one GET and read its body up to the size limit. Transport errors become an _Attempt too."""
    try:
        with client.stream(
            "GET", url, headers=headers, timeout=settings.timeout_s, follow_redirects=True
        ) as response:
            attempt = _Attempt(
                status=response.status_code,
                status_text=_status_text(response),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                content_type=response.headers.get("Content-Type"),
                retryable=response.status_code in RETRY_STATUSES,
                final_url=str(response.url),
            )
            if response.status_code in RETRY_AFTER_STATUSES:
                attempt.retry_after_s = _parse_retry_after(response.headers.get("Retry-After"), settings)
            attempt.body = _read_limited(response, settings.max_bytes)
            attempt.oversize = attempt.body is None
            return attempt
    except _RETRYABLE_ERRORS as exc:
        return _Attempt(status_text=_describe_error(exc, settings), retryable=True)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return _Attempt(status_text=_describe_error(exc, settings), retryable=False)


def _read_limited(response: httpx.Response, max_bytes: int) -> bytes | None:
    """Read the decoded body, or return None as soon as it exceeds max_bytes."""
    declared = response.headers.get("Content-Length", "")
    # Content-Length counts encoded bytes, so it can only prove an uncompressed body too large.
    if declared.isdigit() and int(declared) > max_bytes and not response.headers.get("Content-Encoding"):
        return None
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _http_result(
    url: str,
    shown_url: str,
    attempt: _Attempt,
    attempts: int,
    sent_etag: str | None,
    sent_last_modified: str | None,
    settings: FetchSettings,
    started: float,
) -> FetchResult:
    """Classify the final attempt as fetched, not_modified or source_error."""
    result = _result(
        url,
        status=attempt.status,
        body=attempt.body,
        etag=attempt.etag,
        last_modified=attempt.last_modified,
        content_type=attempt.content_type,
        outcome="source_error",
        attempts=attempts,
        started=started,
    )
    status = attempt.status

    if attempt.retryable:
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        result.reason = f"GET {shown_url} failed after {tries}: {attempt.status_text}"
    elif status is None:
        result.reason = f"GET {shown_url} failed: {attempt.status_text}"
    elif attempt.oversize:
        result.reason = (
            f"GET {shown_url} returned {attempt.status_text} with a body larger than "
            f"{settings.max_bytes} bytes (FetchSettings.max_bytes). "
            "Raise the limit if the source is really that large"
        )
    elif status == 304:
        # A 304 may omit the validators, so keep the sent ones, which still describe the stored payload.
        result.etag = attempt.etag or sent_etag
        result.last_modified = attempt.last_modified or sent_last_modified
        result.body = None
        result.outcome = "not_modified"
        result.reason = (
            f"GET {shown_url} returned {attempt.status_text}: "
            "the source has not changed since the stored payload"
        )
    elif 400 <= status < 500:
        result.reason = (
            f"GET {shown_url} failed: {attempt.status_text} (not retried). "
            "Check the source's url in the sources config"
        )
    elif not 200 <= status < 300:
        result.reason = f"GET {shown_url} failed: {attempt.status_text} (not retried)"
    else:
        not_a_feed = sniff_not_a_feed(attempt.body or b"", attempt.content_type)
        if not_a_feed is None:
            result.outcome = "fetched"
        else:
            result.reason = f"GET {shown_url} returned {attempt.status_text}, but {not_a_feed}"

    if result.outcome == "fetched":
        moved = ""
        if attempt.final_url not in (None, url):
            moved = f" (redirected to {_redact(attempt.final_url)})"
        logger.debug(
            "GET %s: %s, %d bytes in %.2f s after %d attempt(s)%s",
            shown_url, attempt.status_text, len(result.body or b""), result.elapsed_s, attempts, moved,
        )
    else:
        logger.debug("%s", result.reason)
    return result


def file_url_path(url: str) -> Path:
    """Return the local path a file:// URL names (its host part is not checked here)."""
    return Path(url2pathname(unquote(urlsplit(url).path)))


def _read_local(url: str, settings: FetchSettings, started: float) -> FetchResult:
    """Read a file:// URL or an absolute path. Failures become a source_error."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        if parts.netloc not in ("", "localhost"):
            reason = (
                f"Cannot read {url!r}: file URLs on another host ({parts.netloc}) are not supported. "
                "Check the source's url in the sources config"
            )
            logger.debug("%s", reason)
            return _result(url, outcome="source_error", reason=reason, attempts=1, started=started)
        path = file_url_path(url)
    else:
        path = Path(url)

    try:
        size = path.stat().st_size
        if size > settings.max_bytes:
            reason = (
                f"File {path} is {size} bytes, larger than FetchSettings.max_bytes ({settings.max_bytes}). "
                "Raise the limit if the source is really that large"
            )
            logger.debug("%s", reason)
            return _result(url, outcome="source_error", reason=reason, attempts=1, started=started)
        body = path.read_bytes()
    except FileNotFoundError:
        reason = f"File {path} not found. Check the source's url in the sources config"
    except IsADirectoryError:
        reason = f"{path} is a directory, not a file. Check the source's url in the sources config"
    except OSError as exc:
        reason = f"Cannot read {path}: {exc.strerror or exc}. Check the file's permissions"
    else:
        not_a_feed = sniff_not_a_feed(body, None)
        if not_a_feed is None:
            logger.debug("Read %s: %d bytes", path, len(body))
            return _result(url, body=body, outcome="fetched", attempts=1, started=started)
        reason = f"Read {path}, but {not_a_feed}"
        logger.debug("%s", reason)
        return _result(url, body=body, outcome="source_error", reason=reason, attempts=1, started=started)

    logger.debug("%s", reason)
    return _result(url, outcome="source_error", reason=reason, attempts=1, started=started)


def _result(
    url: str,
    *,
    outcome: str,
    attempts: int,
    started: float,
    status: int | None = None,
    body: bytes | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    content_type: str | None = None,
    reason: str | None = None,
) -> FetchResult:
    return FetchResult(
        url=url,
        status=status,
        body=body,
        etag=etag,
        last_modified=last_modified,
        content_type=content_type,
        outcome=outcome,
        reason=reason,
        attempts=attempts,
        elapsed_s=time.monotonic() - started,
    )


def _make_wait(settings: FetchSettings) -> Callable[[RetryCallState], float]:
    """Build the tenacity wait: the server's Retry-After when given, else exponential backoff with jitter."""
    backoff = wait_exponential_jitter(
        multiplier=settings.backoff_base_s, jitter=settings.backoff_base_s, max=settings.max_retry_after_s
    )

    def wait(state: RetryCallState) -> float:
        # Tenacity only waits after a returned _Attempt, never after an exception.
        attempt: _Attempt = state.outcome.result()
        if attempt.retry_after_s is not None:
            return attempt.retry_after_s
        return backoff(state)

    return wait


def _log_retry(shown_url: str, settings: FetchSettings, state: RetryCallState) -> None:
    attempt: _Attempt = state.outcome.result()
    wait_s = state.next_action.sleep if state.next_action else 0.0
    source = " (Retry-After)" if attempt.retry_after_s is not None else ""
    logger.warning(
        "GET %s: attempt %d of %d failed with %s; retrying in %.2f s%s",
        shown_url, state.attempt_number, settings.max_attempts, attempt.status_text, wait_s, source,
    )


def _parse_retry_after(value: str | None, settings: FetchSettings) -> float | None:
    """Parse Retry-After as delay-seconds or an HTTP date, capped by max_retry_after_s.

    Return None when the header is missing or invalid.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)  # HTTP dates are always GMT
        delay = (when - datetime.now(timezone.utc)).total_seconds()
    return min(max(delay, 0.0), settings.max_retry_after_s)


def _status_text(response: httpx.Response) -> str:
    phrase = response.reason_phrase
    if not phrase:
        try:
            phrase = HTTPStatus(response.status_code).phrase
        except ValueError:
            phrase = ""
    return f"HTTP {response.status_code} {phrase}".rstrip()


def _describe_error(exc: Exception, settings: FetchSettings) -> str:
    limit = f"{settings.timeout_s:g} s"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timed out after {limit} (FetchSettings.timeout_s)"
    if isinstance(exc, httpx.ReadTimeout):
        return f"read timed out after {limit} (FetchSettings.timeout_s)"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {limit} (FetchSettings.timeout_s): {type(exc).__name__}"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects. Check the source's url in the sources config"
    detail = str(exc) or "no detail"
    return f"{type(exc).__name__}: {detail}"


def _decode_head(body: bytes) -> str:
    """Decode the start of the body for sniffing, honouring a UTF-8/16/32 byte order mark."""
    head = body[:_SNIFF_BYTES]
    # UTF-32 marks first, because the UTF-32-LE mark begins with the UTF-16-LE one.
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom):].decode(encoding, errors="replace")
    # Without a mark, ASCII markup characters decode the same in any ASCII-compatible encoding.
    return head.decode("utf-8", errors="replace")


def _find_root(text: str) -> tuple[bool, str | None]:
    """Skip the prolog (XML declaration, comments, processing instructions, DOCTYPE).

    Return whether the DOCTYPE names html, and the lower-cased root element name (None if
    it is not within the sniffed bytes).
    """
    position = 0
    html_doctype = False
    while True:
        position = _skip_whitespace(text, position)
        rest = text[position:]
        if rest.startswith("<?"):
            terminator = "?>"
        elif rest.startswith("<!--"):
            terminator = "-->"
        elif rest[:9].lower() == "<!doctype":
            html_doctype = rest[9:].lstrip()[:4].lower() == "html"
            terminator = ">"
        elif rest.startswith("<"):
            match = re.match(r"<([A-Za-z_][\w.:-]*)", rest)
            return html_doctype, match.group(1).lower() if match else None
        else:
            return html_doctype, None
        end = text.find(terminator, position)
        if end < 0:
            return html_doctype, None
        position = end + len(terminator)


def _skip_whitespace(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _quote_start(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return repr(first_line[:_TEXT_QUOTE_CHARS])


def _redact(url: str) -> str:
    """Mask a password in the URL and the values of query parameters that look like secrets."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(name) for name, _ in pairs):
            query = urlencode(
                [(name, "***" if _SECRET_PARAM.search(name) else value) for name, value in pairs],
                safe="*:/,",
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

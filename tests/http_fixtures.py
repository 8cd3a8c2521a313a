"""A scripted HTTP server on 127.0.0.1 for tests that fetch over real HTTP.

Usage:

    with serve({"/feed": [Reply(503), Reply(200, body=b"<rss/>")]}) as server:
        fetch(server.url("/feed"), ...)
        assert len(server.requests_to("/feed")) == 2

Each path gets a list of replies served in order; the last one repeats for any further
request. Unknown paths get a 404. Every request is recorded with its headers and arrival time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(slots=True)
class Reply:
    """One scripted response."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before sending anything, to make the client time out
    send_content_length: bool = True  # False: the body ends when the connection closes


@dataclass(slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    received_at: float  # time.monotonic()


@dataclass
class ScriptedServer:
    """A running server: its base URL and the requests it has received so far."""

    base_url: str
    requests: list[RecordedRequest]

    def url(self, path: str) -> str:
        return self.base_url + path

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]


@contextmanager
def serve(routes: Mapping[str, Reply | Sequence[Reply]]) -> Iterator[ScriptedServer]:
    """Start a threaded server on a free 127.0.0.1 port, yield it, and stop it on exit."""
    scripts = {
        path: [replies] if isinstance(replies, Reply) else list(replies) for path, replies in routes.items()
    }
    served_counts = {path: 0 for path in scripts}
    requests: list[RecordedRequest] = []
    lock = threading.Lock()
    stopping = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0 closes the connection after each response, which close-delimited bodies need.
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
            path = self.path.split("?", 1)[0]
            with lock:
                requests.append(
                    RecordedRequest(
                        method=self.command,
                        path=path,
                        headers={name.lower(): value for name, value in self.headers.items()},
                        received_at=time.monotonic(),
                    )
                )
                script = scripts.get(path)
                if script is None:
                    reply = Reply(404, b"no such path in the test script")
                else:
                    reply = script[min(served_counts[path], len(script) - 1)]
                    served_counts[path] += 1

            if reply.delay_s and stopping.wait(reply.delay_s):
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.send_content_length and reply.status != 304:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.status != 304:
                self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep pytest output clean

    class QuietServer(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address) -> None:
            pass  # clients that time out close the socket while a handler still writes

    server = QuietServer(("127.0.0.1", 0), Handler)
    # A short poll interval keeps shutdown() fast; the default of 0.5 s adds that much per test.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="scripted-http", daemon=True
    )
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield ScriptedServer(base_url=f"http://{host}:{port}", requests=requests)
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

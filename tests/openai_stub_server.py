"""A scripted OpenAI-compatible HTTP server on 127.0.0.1 for tests.

Each request gets the next scripted response, in order, and is recorded. Use it as::

    with serve_openai_stub([ScriptedResponse(body=chat_completion("{}"))]) as stub:
        client = openai.OpenAI(base_url=stub.base_url + "/v1", api_key="test", max_retries=0)
        ...
        assert stub.requests[0].path == "/v1/chat/completions"

When the script runs out, the server returns HTTP 500 with an error saying so.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ScriptedResponse:
    """One reply of the stub: a dict or list body is sent as JSON, a str or bytes body as is."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class RecordedRequest:
    """One request the stub received, with lower-cased header names."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def chat_completion(content: str, *, prompt_tokens: int = 100, completion_tokens: int = 50,
                    model: str = "stub-model", finish_reason: str = "stop") -> dict[str, Any]:
    """Build a chat.completion body whose one choice carries ``content``."""
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 1742450000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_body(message: str, error_type: str = "server_error") -> dict[str, Any]:
    """Build an error body in the OpenAI shape."""
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}


class OpenAIStubServer:
    """The running stub: ``base_url`` (without /v1) and the ``requests`` it has received."""

    def __init__(self, responses: Iterable[ScriptedResponse]) -> None:
        self._responses = list(responses)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval lets stop() return quickly; the default of 0.5 s adds up over a test file.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="openai-stub", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        # Wakes handlers that sleep for a scripted delay, so shutdown does not wait for them.
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next_response(self, request: RecordedRequest) -> ScriptedResponse:
        with self._lock:
            self.requests.append(request)
            if self._responses:
                return self._responses.pop(0)
        return ScriptedResponse(status=500, body=error_body("openai stub: no scripted response left"))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._reply()

            def do_POST(self) -> None:
                self._reply()

            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                recorded = RecordedRequest(self.command, self.path, headers, body)
                scripted = stub._next_response(recorded)
                if scripted.delay_s and stub._stopping.wait(scripted.delay_s):
                    return

                if isinstance(scripted.body, (bytes, bytearray)):
                    payload, content_type = bytes(scripted.body), "application/octet-stream"
                elif isinstance(scripted.body, str):
                    payload, content_type = scripted.body.encode("utf-8"), "text/plain; charset=utf-8"
                else:
                    payload, content_type = json.dumps(scripted.body).encode("utf-8"), "application/json"
                try:
                    self.send_response(scripted.status)
                    headers = {"Content-Type": content_type, **scripted.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up first, e.g. after its own timeout.
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def serve_openai_stub(responses: Iterable[ScriptedResponse]) -> Iterator[OpenAIStubServer]:
    """Run the stub in a thread for the duration of a ``with`` block."""
    stub = OpenAIStubServer(responses)
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()

"""An OpenAI-compatible chat server on a free loopback port, scripted by the test.

The real ``langchain-openai`` client (and the real ``openai`` and ``httpx`` underneath, with their
real exceptions) talks to it over HTTP. Each POST to ``/v1/chat/completions`` takes the next
step of the script:

* ``{"reply": text}``: a normal completion (with usage counts);
* ``{"status": 429}`` / ``{"status": 500}``: an error answer with that status;
* ``{"drop": True}``: the connection is closed without an answer;
* ``{"delay": seconds, ...}``: wait first (the client's timeout fires if it is shorter);
* when the script is used up, the last step repeats.

Every request body is kept in ``requests`` so that a test can check what was sent (the
``response_format`` with its JSON schema, the messages). ``GET /v1/models`` answers like a
server that is up.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    """See the module docstring; use :func:`serve`."""

    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def next_step(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(body)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            step = fake.next_step(body)
            if step.get("delay"):
                time.sleep(float(step["delay"]))
            if step.get("drop"):
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            status = int(step.get("status", 200))
            if status != 200:
                self._send(status, {"error": {"message": f"scripted {status}", "code": status}})
                return
            text = str(step["reply"])
            self._send(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": 11,
                        "completion_tokens": 7,
                        "total_tokens": 18,
                    },
                },
            )

    return Handler


@contextmanager
def serve(script: list[dict[str, Any]]) -> Iterator[FakeOpenAI]:
    """Run a :class:`FakeOpenAI` on a free loopback port for the ``with`` block."""
    fake = FakeOpenAI(script)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="fake-openai", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

"""Serving the inspector with uvicorn on a socket bound before the server starts.

The socket is bound and listening before uvicorn runs, so the printed URL works at once (a
browser that connects early waits in the backlog) and a test never has to wait for "started".
Port 0 takes a free port. The default host is 127.0.0.1: the inspector shows prompts, memories
and traces, and has no authentication, so it is for this machine unless asked otherwise.
"""

from __future__ import annotations

import socket
import threading
from typing import Self

import uvicorn

from cogos.inspector.app import make_app
from cogos.inspector.workspace import Workspace


class InspectorServer:
    """The app over a workspace, on ``host:port``; ``serve_forever`` or ``start`` / ``stop``."""

    def __init__(self, workspace: Workspace, host: str = "127.0.0.1", port: int = 0) -> None:
        self.workspace = workspace
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError:
            self._socket.close()
            raise
        self._socket.listen(128)
        self.host = host
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(make_app(workspace), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve_forever(self) -> None:
        """Serve until Ctrl-C or SIGTERM, then return normally: stopping is how a server ends.

        uvicorn finishes the open requests, then raises the signal again (KeyboardInterrupt).
        """
        try:
            self._server.run(sockets=[self._socket])
        except KeyboardInterrupt:
            pass
        finally:
            self._socket.close()

    def start(self) -> Self:
        """Serve from a background thread (tests, notebooks); :meth:`stop` ends it."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""The inspector's web app: a JSON API over a :class:`Workspace` and the page that reads it.

Starlette (the ASGI toolkit FastAPI is built on) serves it; the page is plain HTML, CSS and
JavaScript shipped in this package (``static/``), with nothing fetched from the internet.
Handlers are synchronous: Starlette runs them in its thread pool, which suits the blocking reads
(files, SQLite, FAISS) they do. Every error a request can cause becomes a JSON ``{"error": ...}``
with a 4xx status; nothing a client sends can stop the server.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cogos.errors import CogOSError
from cogos.inspector.drawing import neighbourhood_svg
from cogos.inspector.frames import NoFrames, actions_before
from cogos.inspector.workspace import Workspace

log = logging.getLogger("cogos.inspector")
STATIC = Path(__file__).parent / "static"
Handler = Callable[[Request, Workspace], Response]


def _finite(value: Any) -> Any:
    """JSON for a browser: ``JSON.parse`` has no Infinity or NaN (a value of -inf is a string)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class BrowserJSON(JSONResponse):
    """A JSON response with non-finite floats written as strings."""

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, allow_nan=False, separators=(",", ":"))
        except ValueError:
            text = json.dumps(_finite(content), allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8")


def _int(request: Request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise ValueError(f"query parameter {name!r} is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"query parameter {name!r} must be an integer, got {raw!r}") from None


def _str(request: Request, name: str) -> str:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        raise ValueError(f"query parameter {name!r} is required")
    return raw


def sources(request: Request, ws: Workspace) -> Response:
    return BrowserJSON(ws.listing())


def run_summary(request: Request, ws: Workspace) -> Response:
    return BrowserJSON(ws.run(_str(request, "run")).summary())


def episode(request: Request, ws: Workspace) -> Response:
    return BrowserJSON(ws.run(_str(request, "run")).episode(_int(request, "episode")))


def frame(request: Request, ws: Workspace) -> Response:
    run = _str(request, "run")
    number = _int(request, "episode")
    step = _int(request, "step")
    view = ws.run(run)
    found = view.episode(number)
    try:
        frames = ws.frames(run)
    except NoFrames as exc:
        return BrowserJSON({"text": None, "reason": str(exc)})
    seed = found["summary"]["seed"]
    picture = frames.frame(number, int(seed or 0), actions_before(found["cycles"]), step)
    if picture.png is not None:
        return Response(picture.png, media_type="image/png")
    return BrowserJSON({"text": picture.text})


def memory_summary(request: Request, ws: Workspace) -> Response:
    return BrowserJSON(ws.memory(_str(request, "memory")).summary())


def memory_search(request: Request, ws: Workspace) -> Response:
    view = ws.memory(_str(request, "memory"))
    k = _int(request, "k", 10)
    if not 1 <= k <= 100:
        raise ValueError(f"k must be between 1 and 100, got {k}")
    mode = request.query_params.get("mode") or None
    expand = request.query_params.get("expand")
    hits = view.search(
        _str(request, "q"), k, mode=mode, expand=None if expand in (None, "") else int(expand)
    )
    return BrowserJSON({"hits": hits})


def memory_item(request: Request, ws: Workspace) -> Response:
    return BrowserJSON(ws.memory(_str(request, "memory")).item(_int(request, "id")))


def memory_graph(request: Request, ws: Workspace) -> Response:
    key = _str(request, "memory")
    item = _int(request, "id")
    view = ws.memory(key)
    found = view.memory.details(item)  # an unknown id is a 404, not an empty drawing
    edges = view.neighbourhood(item, _int(request, "limit", 30))
    centre = f"{found['kind']}:{item}" if found["kind"] in ("event", "fact", "text") else ""
    centre = centre or next((s for s, _, _ in edges if s.endswith(f":{item}")), f"item:{item}")
    svg = neighbourhood_svg(edges, centre, lambda i: f"#/memory/{key}/item/{i}")
    return Response(svg, media_type="image/svg+xml")


def experiment(request: Request, ws: Workspace) -> Response:
    return BrowserJSON(ws.experiment(_str(request, "experiment")).summary())


def experiment_plot(request: Request, ws: Workspace) -> Response:
    view = ws.experiment(_str(request, "experiment"))
    return Response(view.plot(_str(request, "name")), media_type="image/png")


def _guarded(handler: Handler, ws: Workspace) -> Callable[[Request], Response]:
    def endpoint(request: Request) -> Response:
        try:
            return handler(request, ws)
        except KeyError as exc:
            return BrowserJSON({"error": str(exc.args[0]) if exc.args else "not found"}, 404)
        except (ValueError, CogOSError) as exc:
            return BrowserJSON({"error": str(exc)}, 400)
        except Exception as exc:  # a bug or a bad file: said, logged, and the server goes on
            log.exception("inspector: %s failed", request.url.path)
            return BrowserJSON({"error": f"{type(exc).__name__}: {exc}"}, 500)

    return endpoint


API: dict[str, Handler] = {
    "/api/sources": sources,
    "/api/run": run_summary,
    "/api/episode": episode,
    "/api/frame": frame,
    "/api/memory": memory_summary,
    "/api/memory/search": memory_search,
    "/api/memory/item": memory_item,
    "/api/memory/graph.svg": memory_graph,
    "/api/experiment": experiment,
    "/api/experiment/plot": experiment_plot,
}


def make_app(ws: Workspace) -> Starlette:
    """The inspector over ``ws`` (the caller closes ``ws`` when the server stops)."""

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    routes: list[BaseRoute] = [Route("/", index)]
    routes += [Route(path, _guarded(handler, ws)) for path, handler in API.items()]
    routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    return Starlette(routes=routes)

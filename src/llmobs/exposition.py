"""Serving the metrics: an HTTP server, ASGI and WSGI apps, and multiprocess aggregation."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, values
from prometheus_client import make_asgi_app as _client_asgi_app
from prometheus_client import make_wsgi_app as _client_wsgi_app

from .metrics_server import serve

logger = logging.getLogger("llmobs")

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

_multiprocess_registry: CollectorRegistry | None = None
_lock = threading.Lock()


def multiprocess_dir() -> str | None:
    """The multiprocess directory if multiprocess mode is on, else None."""
    return os.environ.get(MULTIPROC_DIR_ENV) or os.environ.get(MULTIPROC_DIR_ENV.lower()) or None


def _client_in_multiprocess_mode() -> bool:
    return values.ValueClass is not values.MutexValue


def exposition_registry(registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """The registry to serve: every worker's values in multiprocess mode, else ``registry``.

    In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set before ``prometheus_client`` is
    first imported), one collector reads all workers' files, so counters and histograms are
    summed across workers and the in-flight gauge across live workers.
    """
    global _multiprocess_registry
    path = multiprocess_dir()
    if path is None or (registry is not None and registry is not REGISTRY):
        return REGISTRY if registry is None else registry
    if not _client_in_multiprocess_mode():
        logger.warning(
            "%s is set but prometheus_client was imported before it was: this process records "
            "in single-process mode. Set it before the service imports llmobs.",
            MULTIPROC_DIR_ENV,
        )
        return REGISTRY if registry is None else registry
    with _lock:
        if _multiprocess_registry is None:
            if not os.path.isdir(path):
                raise ValueError(f"{MULTIPROC_DIR_ENV}={path!r} is not a directory")
            aggregate = CollectorRegistry()
            multiprocess.MultiProcessCollector(aggregate, path=path)
            _multiprocess_registry = aggregate
        return _multiprocess_registry


def mark_process_dead(pid: int, path: str | None = None) -> None:
    """Drop a dead worker's live gauges (in-flight requests, cache size) in multiprocess mode.

    Call it from the server's worker-exit hook, e.g. in ``gunicorn.conf.py``::

        from llmobs import mark_process_dead

        def child_exit(server, worker):
            mark_process_dead(worker.pid)
    """
    directory = path or multiprocess_dir()
    if directory is None:
        return
    multiprocess.mark_process_dead(pid, directory)


def _check_port(port: object) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer from 0 to 65535, got {port!r}")
    return port


def start_metrics_server(
    port: int,
    addr: str = "127.0.0.1",
    registry: CollectorRegistry | None = None,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> tuple[Any, threading.Thread]:
    """Serve ``/metrics`` over HTTP (HTTPS with ``certfile`` and ``keyfile``) in a daemon thread.

    Binds to 127.0.0.1 unless ``addr`` says otherwise; port 0 picks a free port, which
    ``server.server_port`` reports. Returns the server and its thread; ``server.shutdown()``
    stops it. A certificate or key that is missing, unreadable or not a pair raises
    ValueError naming the file and the problem.

    Example:
        >>> server, thread = start_metrics_server(0)
        >>> server.server_port > 0
        True
        >>> server.shutdown()
    """
    _check_port(port)
    if not isinstance(addr, str) or not addr:
        raise ValueError(f"addr must be a host name or IP address, got {addr!r}")
    if (certfile is None) != (keyfile is None):
        raise ValueError("certfile and keyfile must be given together")
    try:
        return serve(port, addr, exposition_registry(registry), certfile, keyfile)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot serve metrics on {addr}:{port}: {exc.strerror}") from exc


class MetricsASGIApp:
    """ASGI app serving the metrics at whatever path it is routed to.

    An object rather than a function, so Starlette and FastAPI route to it as an ASGI app.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._serve = _client_asgi_app(registry)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope.get("type") == "http":
            await self._serve(scope, receive, send)
        elif scope.get("type") == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return


def make_asgi_app(registry: CollectorRegistry | None = None) -> MetricsASGIApp:
    """An ASGI app serving the metrics.

    Route it rather than mount it, so ``/metrics`` answers without a redirect to ``/metrics/``::

        app.add_route("/metrics", make_asgi_app())   # FastAPI or Starlette
    """
    return MetricsASGIApp(exposition_registry(registry))


def make_wsgi_app(registry: CollectorRegistry | None = None) -> Callable[..., Any]:
    """A WSGI app serving the metrics at whatever path it is mounted on (Flask, Django, ...)::

    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/metrics": make_wsgi_app()})
    """
    return _client_wsgi_app(exposition_registry(registry))

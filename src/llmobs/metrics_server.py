"""A small HTTP(S) server for ``/metrics``: threaded, with a listen backlog for bursts of
scrapers, and TLS errors that name the file and the problem."""

from __future__ import annotations

import os
import socket
import ssl
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry
from prometheus_client import make_wsgi_app as _client_wsgi_app

#: Connections the kernel queues while every thread is busy: a burst of scrapers (several
#: Prometheus replicas, federation, a debugging curl loop) must never be reset.
LISTEN_BACKLOG = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged."""


class MetricsHTTPServer(ThreadingMixIn, WSGIServer):
    """One thread per scrape, a deep listen backlog, and threads that never block exit."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG


def _family_of(addr: str, port: int) -> socket.AddressFamily:
    infos = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    return infos[0][0]


def _readable(path: str, role: str) -> None:
    if not os.path.isfile(path):
        raise ValueError(f"TLS {role} {path}: no such file")
    if not os.access(path, os.R_OK):
        raise ValueError(f"TLS {role} {path}: not readable by this process")


def _tls_problem(certfile: str, keyfile: str, exc: ssl.SSLError) -> str:
    """Which file is wrong, and how, for an error OpenSSL reports without either."""
    text = f"{exc.reason or ''} {exc}"
    if "KEY_VALUES_MISMATCH" in text or "key values mismatch" in text:
        return f"TLS key {keyfile}: does not belong to the certificate {certfile}"
    try:
        ssl.create_default_context().load_verify_locations(cafile=certfile)
    except ssl.SSLError:
        return f"TLS certificate {certfile}: not a PEM certificate"
    return (
        f"TLS key {keyfile}: not a PEM private key for the certificate {certfile} ({text.strip()})"
    )


def tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """A server TLS context; ValueError naming the file and the problem if it cannot be built."""
    _readable(certfile, "certificate")
    _readable(keyfile, "key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        raise ValueError(_tls_problem(certfile, keyfile, exc)) from None
    return context


def serve(
    port: int,
    addr: str,
    registry: CollectorRegistry,
    certfile: str | None,
    keyfile: str | None,
) -> tuple[MetricsHTTPServer, threading.Thread]:
    """Start serving ``registry`` on ``addr:port`` in a daemon thread."""
    context = None if certfile is None or keyfile is None else tls_context(certfile, keyfile)

    class Server(MetricsHTTPServer):
        address_family = _family_of(addr, port)

    server = make_server(
        addr, port, _client_wsgi_app(registry), Server, handler_class=_QuietHandler
    )
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="llmobs-metrics", daemon=True)
    thread.start()
    return server, thread

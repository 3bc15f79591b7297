"""The metrics are served over HTTP, and by ASGI and WSGI apps mounted at /metrics."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from llmobs import LLMMetrics, make_asgi_app, make_wsgi_app, start_metrics_server


@pytest.fixture
def recorded() -> LLMMetrics:
    metrics = LLMMetrics(registry=CollectorRegistry())
    metrics.record_request(agent_id="a", model="gpt-4o", provider="openai", cost=0.5)
    return metrics


def test_http_server_serves_metrics_on_loopback(recorded):
    server, thread = start_metrics_server(0, registry=recorded.registry)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body = response.read()
            assert response.headers["Content-Type"].startswith("text/plain")
        assert (
            b'llm_cost_total{agent_id="a",model="gpt-4o",operation="chat",provider="openai"} 0.5'
            in body
        )
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.mark.parametrize("port", [-1, 70000, "9100", 80.5, True, None])
def test_bad_port_is_a_clear_error(port):
    with pytest.raises(ValueError, match="port must be an integer from 0 to 65535"):
        start_metrics_server(port)


def test_port_in_use_names_the_address(recorded):
    server, thread = start_metrics_server(0, registry=recorded.registry)
    try:
        with pytest.raises(
            OSError, match=f"cannot serve metrics on 127.0.0.1:{server.server_port}"
        ):
            start_metrics_server(server.server_port, registry=recorded.registry)
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_certfile_without_keyfile_is_rejected():
    with pytest.raises(ValueError, match="certfile and keyfile must be given together"):
        start_metrics_server(0, certfile="cert.pem")


def test_asgi_app_routed_at_metrics_answers_without_redirect(recorded):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    app = Starlette()
    app.add_route("/metrics", make_asgi_app(recorded.registry))
    with TestClient(app) as client:
        response = client.get("/metrics", follow_redirects=False)
    assert response.status_code == 200
    assert b"llm_requests_total" in response.content
    assert response.headers["content-type"].startswith("text/plain")


def test_asgi_app_as_the_whole_application_handles_lifespan(recorded):
    from starlette.testclient import TestClient

    with TestClient(make_asgi_app(recorded.registry)) as client:
        response = client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert b"llm_cost_total" in response.content


def test_wsgi_app_mounted_in_flask_answers_without_redirect(recorded):
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    app = Flask(__name__)
    app.wsgi_app = DispatcherMiddleware(
        app.wsgi_app, {"/metrics": make_wsgi_app(recorded.registry)}
    )
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert b"llm_requests_total" in response.data


def test_fastapi_add_route_serves_metrics_without_redirect(recorded):
    fastapi = pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    app = fastapi.FastAPI()
    app.add_route("/metrics", make_asgi_app(recorded.registry))
    response = TestClient(app).get("/metrics", follow_redirects=False)
    assert response.status_code == 200
    assert b"llm_cost_total" in response.content


def test_a_burst_of_scrapers_waits_in_the_backlog_and_is_served(recorded):
    server, thread = start_metrics_server(0, registry=recorded.registry)
    server.shutdown()  # stop accepting for a moment: every scraper must queue in the backlog
    thread.join(timeout=5)
    scrapers = []
    try:
        for _ in range(64):
            scraper = socket.create_connection(("127.0.0.1", server.server_port), timeout=2)
            scrapers.append(scraper)
        serving = threading.Thread(target=server.serve_forever, daemon=True)
        serving.start()
        for scraper in scrapers:
            scraper.sendall(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        for scraper in scrapers:
            scraper.settimeout(30)
            assert scraper.makefile("rb").readline().startswith(b"HTTP/1.0 200")
    finally:
        for scraper in scrapers:
            scraper.close()
        server.shutdown()
        server.server_close()


def make_pair(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_serves_with_a_matching_pair(tmp_path, recorded):
    cert, key = make_pair(tmp_path, "a")
    server, thread = start_metrics_server(
        0, registry=recorded.registry, certfile=str(cert), keyfile=str(key)
    )
    try:
        context = ssl.create_default_context(cafile=str(cert))
        url = f"https://localhost:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            assert b"llm_cost_total" in response.read()
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_tls_mistakes_name_the_file_and_the_problem(tmp_path):
    cert, key = make_pair(tmp_path, "a")
    _, other_key = make_pair(tmp_path, "b")
    with pytest.raises(ValueError, match=r"TLS key .*b\.key: does not belong to the certificate"):
        start_metrics_server(0, certfile=str(cert), keyfile=str(other_key))
    with pytest.raises(ValueError, match=r"TLS certificate .*missing\.crt: no such file"):
        start_metrics_server(0, certfile=str(tmp_path / "missing.crt"), keyfile=str(key))
    (tmp_path / "junk.crt").write_text("not a certificate")
    with pytest.raises(ValueError, match=r"TLS certificate .*junk\.crt: not a PEM certificate"):
        start_metrics_server(0, certfile=str(tmp_path / "junk.crt"), keyfile=str(key))
    with pytest.raises(ValueError, match=r"TLS key .*junk\.crt: not a PEM private key"):
        start_metrics_server(0, certfile=str(cert), keyfile=str(tmp_path / "junk.crt"))

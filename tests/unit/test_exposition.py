"""The metrics are served over HTTP, and by ASGI and WSGI apps mounted at /metrics."""

from __future__ import annotations

import urllib.request

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
        assert b'llm_cost_total{agent_id="a",model="gpt-4o",provider="openai"} 0.5' in body
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

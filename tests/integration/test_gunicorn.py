"""A real gunicorn with several workers: every scrape, whichever worker answers it, reports the
exact total of requests served by all of them."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import free_port, wait_until_serving

pytest.importorskip("gunicorn")

HERE = Path(__file__).parent
CALLS = 120


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def requests_total(body: bytes) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(body.decode())
        if family.name == "llm_requests"
        for s in family.samples
        if s.name == "llm_requests_total"
    )


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(HERE)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(HERE / "gunicorn_conf.py"),
            "-b",
            f"127.0.0.1:{port}",
            "gunicorn_app:app",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=HERE,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base + "/metrics", server)
    yield base
    server.terminate()
    server.wait(timeout=20)


def test_every_scrape_reports_the_total_of_all_workers(gunicorn):
    with ThreadPoolExecutor(max_workers=6) as pool:
        pids = set(pool.map(lambda _: get(gunicorn + "/call"), range(CALLS)))
    assert len(pids) >= 2, "the requests should have been spread over several workers"
    for _ in range(10):
        body = get(gunicorn + "/metrics")
        assert requests_total(body) == CALLS
        assert b'llm_active_requests{agent_id="svc.agent",provider="openai"} 0.0' in body

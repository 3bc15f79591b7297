"""``obsgen demo`` as a process: serves metrics, obeys its controls and signals, stops cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import free_port, wait_until_serving


def call(url: str, method: str = "GET") -> bytes:
    request = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read()


DEMO_CONFIG = """
apiVersion: obsgen/v1
budgets:
  timezone: Europe/Stockholm
  daily: 7.5
  teams:
    meetmind: {weekly: 40, enforce: true}
"""


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    (tmp_path / "obsgen.yaml").write_text(DEMO_CONFIG)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "obsgen",
            "demo",
            "--port",
            str(port),
            "--rate",
            "200",
            "--time-scale",
            "0",
            "--db",
            str(tmp_path / "costs.sqlite3"),
            "--service-version",
            "9.9.9",
            "--config",
            str(tmp_path / "obsgen.yaml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base + "/status", process)
    yield process, base
    if process.poll() is None:
        process.kill()
        process.wait()


def status(base: str) -> dict:
    return json.loads(call(base + "/status"))


def test_serves_every_metric_family_it_records(demo):
    _, base = demo
    time.sleep(2)
    families = {f.name for f in text_string_to_metric_families(call(base + "/metrics").decode())}
    assert {
        "llm_requests",
        "llm_tokens_used",
        "llm_cost",
        "llm_request_duration_seconds",
        "llm_active_requests",
        "llm_cache_size",
        "llm_build_info",
        "llm_unpriced_requests",
    } <= families
    assert status(base)["version"] == "9.9.9"


def test_its_tracker_exports_the_budgets_of_its_config(demo):
    _, base = demo
    limits = {
        (s.labels["scope"], s.labels["name"], s.labels["period"]): s.value
        for family in text_string_to_metric_families(call(base + "/metrics").decode())
        if family.name == "llm_budget_limit_usd"
        for s in family.samples
    }
    assert limits == {("global", "all", "day"): 7.5, ("team", "meetmind", "week"): 40.0}


def test_controls_and_signals(demo):
    process, base = demo
    assert json.loads(call(base + "/control/burst", "POST"))["error_burst"] is True
    process.send_signal(signal.SIGUSR2)
    time.sleep(0.5)
    assert status(base)["spend_spike"] is True
    call(base + "/control/pause", "POST")
    time.sleep(0.5)
    paused_at = status(base)["requests"]
    time.sleep(1.0)
    assert status(base)["requests"] == paused_at
    call(base + "/control/resume", "POST")
    time.sleep(1.0)
    assert status(base)["requests"] > paused_at
    with pytest.raises(urllib.error.HTTPError) as missing:
        call(base + "/control/explode", "POST")
    assert missing.value.code == 404


def test_stops_cleanly_on_sigterm(demo):
    process, _ = demo
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert "obsgen demo 9.9.9: http://127.0.0.1:" in process.stdout.read()


def test_a_busy_port_is_a_clear_error(demo):
    _, base = demo
    port = base.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "obsgen", "demo", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"obsgen: error: cannot serve the demo on 127.0.0.1:{port}" in result.stderr


def test_an_unwritable_cost_database_is_named_not_blamed_on_the_port(tmp_path):
    (tmp_path / "file").write_text("x")
    db = tmp_path / "file" / "costs.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "obsgen", "demo", "--port", "0", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"obsgen: error: {db}: cannot create its folder")
    assert "cannot serve" not in result.stderr

"""Notifications: the Alertmanager config generated from ``notifications:`` passes
``amtool check-config`` for every fixture, and a real Alertmanager running it sends each kind of
alert to its receivers (reading secrets from the files named), and holds back a budget's warning
while the budget is exceeded."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from obsgen import paths
from tests.helpers import build, eventually, free_port, wait_until_serving

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
AMTOOL = shutil.which("amtool")
ALERTMANAGER = shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")
SECRET_URL_PATH = "/slack-with-secret-token"


@pytest.mark.skipif(AMTOOL is None, reason="amtool is not installed")
@pytest.mark.parametrize("fixture", ["full.yaml", "hostile.yaml", "odd.yaml"])
def test_the_generated_config_passes_amtool(tmp_path, fixture):
    (tmp_path / "obsgen.yaml").write_text((FIXTURES / fixture).read_text())
    build(tmp_path / "obsgen.yaml", tmp_path)
    config = tmp_path / paths.ALERTMANAGER
    result = subprocess.run(
        [AMTOOL, "check-config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


class Inbox(ThreadingHTTPServer):
    """Records what Alertmanager posts, by path."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.received: list[tuple[str, dict]] = []

    def alertnames(self, path: str) -> set[str]:
        names = set()
        for where, body in list(self.received):
            if where == path:
                if "alerts" in body:  # webhook
                    names |= {alert["labels"]["alertname"] for alert in body["alerts"]}
                else:  # Slack: the title names the group's alert
                    names |= {a["title"].split()[1].rstrip(":") for a in body["attachments"]}
        return names


class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.received.append((self.path, json.loads(self.rfile.read(length))))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def inbox():
    server = Inbox()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _alert(alertname: str, severity: str, **labels: str) -> dict:
    return {
        "labels": {"alertname": alertname, "severity": severity, **labels},
        "annotations": {"summary": "s", "description": "d", "runbook_url": "r"},
    }


@contextmanager
def alertmanager_of(tmp_path: Path, notifications: dict, hook: str) -> Iterator[int]:
    """A real Alertmanager on the config ``obsgen build`` generates for ``notifications``, its
    Slack URL file pointing at ``hook``; yields its port."""
    port = free_port()
    (tmp_path / "obsgen.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "obsgen/v1",
                "prometheus": {"alertmanagers": [f"127.0.0.1:{port}"]},
                "notifications": notifications,
            }
        )
    )
    build(tmp_path / "obsgen.yaml", tmp_path)
    config = tmp_path / paths.ALERTMANAGER
    secrets = config.parent / "secrets"
    secrets.mkdir()
    (secrets / "slack.url").write_text(hook + SECRET_URL_PATH)
    assert SECRET_URL_PATH not in config.read_text()  # the secret stays in its file
    process = subprocess.Popen(
        [
            str(ALERTMANAGER),
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "alertmanager.log").open("w"),
        cwd=config.parent,  # as the stack runs it: secret files are relative to the config
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/-/ready", process)
        yield port
    finally:
        process.kill()
        process.wait()


def send(port: int, alerts: list[dict]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()


@pytest.mark.skipif(ALERTMANAGER is None, reason="Alertmanager is not installed")
def test_each_kind_of_alert_reaches_its_receivers(tmp_path, inbox):
    hook = f"http://127.0.0.1:{inbox.server_address[1]}"
    notifications = {
        "receivers": {
            "finance": {"slack": {"api_url_file": "secrets/slack.url"}},
            "oncall": {"webhook": {"url": f"{hook}/oncall"}},
        },
        "routes": {"budget": ["finance"], "slo": ["oncall"]},
    }
    with alertmanager_of(tmp_path, notifications, hook) as port:
        budget = {"scope": "team", "name": "research", "period": "day"}
        send(
            port,
            [
                _alert("LLMBudgetExceeded", "critical", **budget),
                _alert("LLMBudgetWarning", "warning", **budget),  # held back while exceeded
                _alert("LLMBudgetWarning", "warning", scope="global", name="all", period="day"),
                _alert("LLMErrorRateHigh", "warning", provider="openai"),
                _alert("LLMMetricsDown", "critical", instance="x:8000", job="llm-service"),
            ],
        )
        eventually(
            lambda: len(inbox.alertnames(SECRET_URL_PATH)) >= 2 and inbox.alertnames("/oncall"),
            "the budget and SLO alerts arrived",
            60,
            0.5,
        )
        time.sleep(2)  # anything else would have arrived with them (one group_wait)
        log = (tmp_path / "alertmanager.log").read_text()
        assert inbox.alertnames(SECRET_URL_PATH) == {"LLMBudgetExceeded", "LLMBudgetWarning"}, log
        slack_bodies = [body for where, body in inbox.received if where == SECRET_URL_PATH]
        warnings = [b for b in slack_bodies if "LLMBudgetWarning" in b["attachments"][0]["title"]]
        assert len(warnings) == 1 and "global" in json.dumps(warnings)  # the team's was inhibited
        assert "research" not in json.dumps(warnings)
        assert inbox.alertnames("/oncall") == {"LLMErrorRateHigh"}  # telemetry: no route


@pytest.mark.skipif(ALERTMANAGER is None, reason="Alertmanager is not installed")
def test_channels_with_template_braces_are_sent_to_as_written(tmp_path, inbox):
    hook = f"http://127.0.0.1:{inbox.server_address[1]}"
    channels = {"unclosed": "#llm-{{ oops", "labels": "#{{ .CommonLabels }}", "closing": "#a }}"}
    notifications = {
        "receivers": {
            name: {"slack": {"api_url_file": "secrets/slack.url", "channel": channel}}
            for name, channel in channels.items()
        },
        "routes": {"budget": sorted(channels)},
    }
    with alertmanager_of(tmp_path, notifications, hook) as port:
        send(port, [_alert("LLMBudgetExceeded", "critical", scope="global", name="all")])
        eventually(lambda: len(inbox.received) >= len(channels), "every channel's post", 60, 0.5)
        log = (tmp_path / "alertmanager.log").read_text()
    received = sorted(body["channel"] for where, body in inbox.received if where == SECRET_URL_PATH)
    assert received == sorted(channels.values()), log

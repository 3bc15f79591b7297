"""``obsgen stack up``, ``status`` and ``down`` on a machine without Docker."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests import helpers
from tests.helpers import eventually, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

if shutil.which("prometheus") is None:
    if os.environ.get("CI"):
        raise RuntimeError("prometheus is required in CI: apt-get install -y prometheus")
    pytest.skip("prometheus is not installed", allow_module_level=True)


def obsgen(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return helpers.obsgen(*args, cwd=cwd, env=env)


@pytest.fixture
def project(tmp_path) -> tuple[Path, list[str]]:
    demo, alertmanager, prometheus = free_port(), free_port(), free_port()
    config = (
        (ROOT / "obsgen.yaml")
        .read_text()
        .replace('"localhost:8000"', f'"127.0.0.1:{demo}"')
        .replace('"localhost:9093"', f'"127.0.0.1:{alertmanager}"')
    )
    (tmp_path / "obsgen.yaml").write_text(config)
    options = ["--mode", "local", "--prometheus-port", str(prometheus), "--no-grafana"]
    return tmp_path, options


def test_up_status_down(project):
    root, options = project
    up = obsgen(root, "stack", "up", *options, "--demo-rate", "5")
    stop_command = f"{shlex.quote(sys.executable)} -m obsgen stack down"
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "prometheus ready at http://127.0.0.1:" in up.stdout
        stop = next(line for line in up.stdout.splitlines() if line.startswith("Stop it with"))
        stop_command = stop.removeprefix("Stop it with").strip()
        assert stop_command == f"{shlex.quote(sys.executable)} -m obsgen stack down"
        prometheus_url = next(
            line.split()[1] for line in up.stdout.splitlines() if line.startswith("Prometheus ")
        )
        with urllib.request.urlopen(prometheus_url + "/-/ready", timeout=5) as response:
            assert response.status == 200
        status = obsgen(root, "stack", "status", *options[:-1])
        assert status.returncode == 0
        assert [line.split()[:2] for line in status.stdout.splitlines()] == [
            ["demo", "ready"],
            ["alertmanager", "ready"],
            ["prometheus", "ready"],
        ]
        again = obsgen(root, "stack", "up", *options)
        assert "prometheus is already running" in again.stdout
        config = root / "obsgen.yaml"
        notifications = (
            "notifications:\n  receivers:\n    ops:\n      webhook: {url: http://127.0.0.1:9/x}\n"
            "  routes:\n    budget: [ops]\n"
        )
        config.write_text(
            config.read_text().replace("daily: 100.0", "daily: 123.0") + notifications
        )
        edited = obsgen(root, "stack", "up", *options)
        assert edited.returncode == 0, edited.stderr
        assert "prometheus is running and reloaded alerts/llm_alert_rules.yml" in edited.stdout
        assert (
            "alertmanager is running and reloaded stack/alertmanager/alertmanager.yml"
            in edited.stdout
        )
        assert "demo restarts to read the changed config" in edited.stdout
        with urllib.request.urlopen(prometheus_url + "/api/v1/rules?type=alert", timeout=5) as r:
            rules = json.load(r)["data"]["groups"]
        mismatch = next(
            rule["query"]
            for group in rules
            for rule in group["rules"]
            if rule["name"] == "LLMBudgetLimitMismatch"
        )
        assert mismatch.endswith("!= 123")
        demo_url = next(
            line.split()[2] for line in up.stdout.splitlines() if line.startswith("Demo service")
        )
        with urllib.request.urlopen(demo_url, timeout=5) as response:
            assert 'llm_budget_limit_usd{name="all",period="day",scope="global"} 123.0' in (
                response.read().decode()
            )
    finally:  # the command as printed, from a shell whose PATH has no obsgen on it
        down = subprocess.run(
            stop_command,
            shell=True,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=180,
            env={**os.environ, "PATH": "/usr/bin:/bin"},
        )
    assert down.returncode == 0, down.stderr
    assert sorted(down.stdout.split()) == sorted(
        ["stopped", "alertmanager", "stopped", "demo", "stopped", "prometheus"]
    )
    assert obsgen(root, "stack", "status", *options[:-1]).returncode == 3


def test_missing_binaries_are_named_with_how_to_install_them(project, tmp_path):
    root, options = project
    bare_path = tmp_path / "bin"
    bare_path.mkdir()
    env = {**os.environ, "PATH": str(bare_path)}
    result = subprocess.run(
        [sys.executable, "-m", "obsgen", "stack", "up", *options],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert "not found on PATH: prometheus (install: apt-get install prometheus" in result.stderr
    assert "alertmanager (install: apt-get install prometheus-alertmanager" in result.stderr


@pytest.mark.parametrize(
    ("component", "how"),
    [
        ("prometheus", "move it with --prometheus-port"),
        ("alertmanager", "move it with prometheus.alertmanagers in obsgen.yaml"),
        ("demo", "move it with prometheus.scrape.targets in obsgen.yaml"),
    ],
)
def test_a_busy_port_is_named_with_what_moves_it(project, component, how):
    import socket

    root, options = project
    config = (root / "obsgen.yaml").read_text()
    ports = {
        "prometheus": int(options[options.index("--prometheus-port") + 1]),
        "alertmanager": int(config.split('"127.0.0.1:')[2].split('"')[0]),
        "demo": int(config.split('"127.0.0.1:')[1].split('"')[0]),
    }
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports[component]))
        holder.listen()
        result = obsgen(root, "stack", "up", *options)
        obsgen(root, "stack", "down", *options[:-1])
    assert result.returncode == 2
    assert f"port {ports[component]} for {component} is in use" in result.stderr
    assert how in result.stderr


PG_CONFIG = """
apiVersion: obsgen/v1
prometheus:
  evaluation_interval: 1s
  scrape: {{targets: ["127.0.0.1:{demo}"], interval: 1s, timeout: 1s}}
  alertmanagers: ["127.0.0.1:{alertmanager}"]
budgets: {{daily: 0.05, warning_percent: 50}}
alerts:
  for: {{LLMBudgetExceeded: 0s}}
"""


@pytest.fixture
def reachable_folder():
    """A folder the postgres user can enter too (PostgreSQL runs as it when tests run as root)."""
    folder = Path(tempfile.mkdtemp(prefix="obsgen-stack-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_demo_keeps_its_costs_in_postgres_and_the_budget_alerts_read_them(reachable_folder):
    from tests.pg_server import require_postgres

    require_postgres()
    root = reachable_folder
    demo, alertmanager, prometheus, postgres = (free_port() for _ in range(4))
    (root / "obsgen.yaml").write_text(PG_CONFIG.format(demo=demo, alertmanager=alertmanager))
    options = ["--mode", "local", "--prometheus-port", str(prometheus)]
    options += ["--postgres-port", str(postgres)]
    up = obsgen(
        root, "stack", "up", *options, "--no-grafana", "--db", "postgres", "--demo-rate", "40"
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        url = f"postgresql://obsgen@127.0.0.1:{postgres}/postgres"
        assert f"postgres ready at {url}" in up.stdout
        assert f"costs --db {url}" in up.stdout
        status = obsgen(root, "stack", "status", *options)
        assert status.stdout.split()[:2] == ["postgres", "ready"], status.stdout
        query = f"http://127.0.0.1:{prometheus}/api/v1/query?query=" + urllib.parse.quote(
            'ALERTS{alertname="LLMBudgetExceeded",alertstate="firing"}'
        )

        def fired() -> list:
            with urllib.request.urlopen(query, timeout=5) as response:
                return json.load(response)["data"]["result"]

        firing = eventually(
            fired, "LLMBudgetExceeded fired from the gauges of a PostgreSQL store", 90, 1.0
        )
        assert firing[0]["metric"]["scope"] == "global"
        costs = obsgen(root, "costs", "--db", url, "--format", "json")
        assert costs.returncode == 0, costs.stderr
        report = json.loads(costs.stdout)
        assert report["total_cost_usd"] > 0.05 and report["budget_usd"] == 0.05
    finally:
        down = obsgen(root, "stack", "down", *options)
    assert "stopped postgres" in down.stdout

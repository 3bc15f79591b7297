"""One dashboard refresh against a real Prometheus holding a fleet's day of history.

Writes 24 h of 15 s history (``fleet_history``) with ``promtool tsdb create-blocks-from
openmetrics``, starts the real Prometheus on it with the generated rules, backfills the recording
rules with ``promtool tsdb create-blocks-from rules``, then times one full refresh of the
generated dashboard: every panel's range query over 24 h at Grafana's step (60 s) and the
instant queries, the annotations and the variable queries. The same refresh with each panel's
raw-series query (the plan's ``baseline``) is timed in the same run, in interleaved rounds, and
the best round of each is kept. Both with every variable at All, and with one agent chosen.

    python bench/bench_prometheus.py [--agents 50] [--models 10] [--providers 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from fleet_history import Fleet, write_block
from helpers import free_port

from llmobs.schema import REQUESTS
from obsgen import plan as planning
from obsgen.config import parse
from obsgen.render import rule_files

STEP = 60  # Grafana's step for 24 h on a dashboard-wide panel (about 1,400 points)
RANGE = 86400
RATE_INTERVAL = max(STEP + 15, 4 * 15)  # Grafana's $__rate_interval for a 15 s scrape
TARGET_SECONDS = 1.0
ROUNDS = 3
#: Rules over long windows are backfilled for the last minutes only: panels read them now.
LONG_WINDOWS = re.compile(r":\w*increase(24h|7d|30d)$")
CONFIG = """
apiVersion: obsgen/v1
prometheus:
  evaluation_interval: 1m
  scrape: {interval: 15s, timeout: 10s}
"""


def _run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{result.stdout}{result.stderr}")


def _import_block(args: tuple[Fleet, tuple[int, int], range, Path]) -> int:
    fleet, window, agents, folder = args
    text = folder / f"history-{window[0]}-{agents.start}.om"
    samples = write_block(fleet, window, agents, text)
    _run("promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(text), str(folder))
    text.unlink()
    return samples


class Prometheus:
    """A Prometheus on 127.0.0.1 over ``data``, loading ``rules``."""

    def __init__(self, data: Path, rules: list[Path], folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "prometheus.yml"
        files = json.dumps([str(r) for r in rules])
        config.write_text(f"global: {{evaluation_interval: 1m}}\nrule_files: {files}\n")
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                "--storage.tsdb.retention.time=30d",
                f"--web.listen-address=127.0.0.1:{self.port}",
                # The raw-series baseline reads far more than the default 50M samples at once.
                "--query.max-samples=2000000000",
                "--query.timeout=10m",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "prometheus.log").open("w"),
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise SystemExit(f"Prometheus did not get ready: see {folder / 'prometheus.log'}")

    def get(self, path: str, **params: object) -> float:
        """Seconds one API call took; fail on an error answer."""
        url = f"{self.url}{path}?{urllib.parse.urlencode(params, doseq=True)}"
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=900) as response:
            body = json.loads(response.read())
        elapsed = time.perf_counter() - start
        if body["status"] != "success":
            raise SystemExit(f"query failed: {params}: {body}")
        return elapsed

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=120)


def _substitute(expr: str, agent: str | None) -> str:
    for label in ("agent_id", "model", "provider"):
        value = re.escape(agent).replace("\\", "\\\\") if label == "agent_id" and agent else ".*"
        expr = expr.replace(f"${label}", value)
    return (
        expr.replace("$__rate_interval", f"{RATE_INTERVAL}s")
        .replace("$__range", f"{RANGE}s")
        .replace("$__interval", f"{STEP}s")
    )


def _metric_of(variable_query: str) -> str:
    """The metric of Grafana's ``label_values(metric, label)``."""
    return variable_query.removeprefix("label_values(").split(",")[0]


def _refresh(prometheus: Prometheus, board, end: int, baseline: bool, agent: str | None):
    """Seconds per panel (annotations and variables as two more rows) of one refresh."""
    times: dict[str, float] = {}
    for panel in board.panels:
        for query in panel.queries:
            expr = _substitute(query.baseline if baseline else query.expr, agent)
            if query.instant:
                took = prometheus.get("/api/v1/query", query=expr, time=end)
            else:
                took = prometheus.get(
                    "/api/v1/query_range", query=expr, start=end - RANGE, end=end, step=STEP
                )
            times[panel.title] = times.get(panel.title, 0.0) + took
    times["(annotations)"] = sum(
        prometheus.get("/api/v1/query_range", query=a.expr, start=end - RANGE, end=end, step=60)
        for a in board.annotations
    )
    times["(variables)"] = 0.0
    for variable in board.variables:
        metric = REQUESTS.name if baseline else _metric_of(variable.query)
        times["(variables)"] += prometheus.get(
            f"/api/v1/label/{variable.name}/values",
            start=end - RANGE,
            end=end,
            **{"match[]": metric},
        )
    return times


def _best(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {name: min(r[name] for r in rounds) for name in rounds[0]}


def main() -> bool:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--providers", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Keep the data in this folder.")
    parser.add_argument(
        "--baseline-rounds",
        type=int,
        default=ROUNDS,
        help="Raw-series refreshes timed (of the plan's, always %(default)s); fewer at scale, "
        "where one takes minutes.",
    )
    options = parser.parse_args()
    for binary in ("prometheus", "promtool"):
        if shutil.which(binary) is None:
            raise SystemExit(f"{binary} is not on PATH (make system-deps)")
    end = int(time.time()) // 60 * 60 - 600
    fleet = Fleet(options.agents, options.models, options.providers, end)
    folder = options.keep or Path(tempfile.mkdtemp(prefix="obsgen-bench-"))
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    plan = planning.build(parse(__import__("yaml").safe_load(CONFIG), {}, "bench.yaml"))
    print(f"fleet: {fleet.label_sets:,} label sets, {fleet.hours} h of {fleet.scrape_seconds} s")

    started = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        parts = [(fleet, w, s, data) for w in fleet.blocks() for s in fleet.agent_slices()]
        samples = sum(pool.map(_import_block, parts))
    took = time.perf_counter() - started
    print(f"history: {samples:,} samples written and imported in {took:.0f} s")

    window_rules = [r for r in plan.recording.rules if not LONG_WINDOWS.search(r.record)]
    long_rules = [r for r in plan.recording.rules if LONG_WINDOWS.search(r.record)]
    files = []
    for name, rules in (("window", window_rules), ("long", long_rules)):
        group = planning.RecordingGroup(f"bench-{name}", "1m", tuple(rules))
        path = folder / f"{name}-rules.yml"
        path.write_text(rule_files.render(plan.header, (group,)))
        files.append(path)
    alert_path = folder / "alert-rules.yml"
    alert_path.write_text(rule_files.render(plan.header, plan.alerts))

    started = time.perf_counter()
    prometheus = Prometheus(data, [*files, alert_path], folder)
    backfilled = folder / "rules-data"
    for path, start in ((files[0], fleet.start), (files[1], end - 600)):
        _run(
            "promtool",
            "tsdb",
            "create-blocks-from",
            "rules",
            "-q",
            f"--url={prometheus.url}",
            f"--start={start}",
            f"--end={end}",
            f"--output-dir={backfilled}",
            str(path),
        )
    prometheus.stop()
    for block in backfilled.iterdir():
        shutil.move(str(block), data / block.name)
    print(f"rules: {len(plan.recording.rules)} backfilled in {time.perf_counter() - started:.0f} s")

    prometheus = Prometheus(data, [*files, alert_path], folder)
    ok = True
    try:
        agent = "team0.agent0"
        for label, chosen in (("every variable at All", None), (f"agent_id={agent}", agent)):
            rounds = {True: [], False: []}
            for index in range(ROUNDS):
                for baseline in (False, True):
                    if not baseline or index < options.baseline_rounds:
                        rounds[baseline].append(
                            _refresh(prometheus, plan.dashboard, end, baseline, chosen)
                        )
            ok &= _report(label, _best(rounds[False]), _best(rounds[True]))
    finally:
        prometheus.stop()
        if options.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return ok


def _report(label: str, planned: dict[str, float], raw: dict[str, float]) -> bool:
    total, baseline = sum(planned.values()), sum(raw.values())
    slowest = max(planned, key=planned.__getitem__)
    slowest_raw = max(raw, key=raw.__getitem__)
    verdict = "ok" if total <= TARGET_SECONDS else "MISSED"
    print(f"\none refresh, 24 h, {label}:")
    for name in planned:
        print(f"  {name:<32} {planned[name] * 1e3:9.1f} ms   raw {raw[name] * 1e3:9.1f} ms")
    print(
        f"  total {total * 1e3:.0f} ms vs raw series {baseline * 1e3:.0f} ms, ratio "
        f"{total / baseline:.3f}; slowest panel {slowest} ({planned[slowest] * 1e3:.0f} ms), "
        f"raw {slowest_raw} ({raw[slowest_raw] * 1e3:.0f} ms); target <= {TARGET_SECONDS:g} s "
        f"{verdict}"
    )
    return total <= TARGET_SECONDS


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

"""One dashboard refresh against a real Prometheus holding a fleet's day of history.

Writes 24 h of 15 s history (``fleet_history``) with ``promtool tsdb create-blocks-from
openmetrics``, starts the real Prometheus on it with the generated rules, backfills the recording
rules with ``promtool tsdb create-blocks-from rules``, waits until Prometheus has merged the
overlapping blocks, then times one full refresh of the generated dashboard: every panel's range
query over 24 h at Grafana's step (60 s) and the instant queries, the annotations and the variable
queries. The same refresh with each panel's raw-series query (the plan's ``baseline``) is timed in
the same run, in interleaved rounds, and the best round of each is kept. Both with every variable
at All, and with one agent chosen.

    python bench/bench_prometheus.py [--agents 50] [--models 10] [--providers 3] [--keep DIR]

With ``--keep DIR`` the history and the backfilled rules stay in ``DIR``, and a later run with
the same fleet reuses them (at 15k label sets they take over an hour to write).
"""

from __future__ import annotations

import argparse
import json
import math
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

from fleet_history import BLOCK_SECONDS, Fleet, write_block
from helpers import free_port

from llmobs.schema import REQUEST_DURATION, REQUESTS
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
#: Rules that keep every label set and every bucket: ``agent_id_le_model_provider:...``.
PER_BUCKET = re.compile(r"^agent_id_le_")
#: Points of one backfill query at most: promtool holds a query's whole answer in memory (at
#: 15k label sets, two hours of a per-bucket rule took over 16 GB).
POINTS_PER_BACKFILL_QUERY = 4_000_000
#: The longest Prometheus may wait to merge the overlapping blocks before the timing starts.
SETTLE_SECONDS = 3600
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
                # Blocks stay two hours long: only overlapping blocks are merged, in one pass.
                "--storage.tsdb.max-block-duration=2h",
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
        """Stop; Prometheus finishes a compaction first, which at scale takes minutes."""
        self.process.terminate()
        try:
            self.process.wait(timeout=900)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


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


def _kept(folder: Path, name: str, expected: dict[str, object]) -> dict[str, object] | None:
    """What an earlier run recorded in ``folder/name``, if it was for ``expected``."""
    path = folder / name
    if not path.exists():
        return None
    recorded = json.loads(path.read_text())
    return recorded if all(recorded.get(k) == v for k, v in expected.items()) else None


def _import_history(fleet: Fleet, data: Path) -> int:
    """Write and import the fleet's history into ``data``, two files at a time; the samples."""
    with ProcessPoolExecutor(2) as pool:
        parts = [(fleet, w, s, data) for w in fleet.blocks() for s in fleet.agent_slices()]
        return sum(pool.map(_import_block, parts))


def _write_rule_files(plan, folder: Path) -> dict[str, Path]:
    """The plan's recording rules in four files, by how they are backfilled, and its alerts.

    Rules that read other rules (``derived``) are backfilled after those, from their blocks:
    promtool evaluates every rule against the Prometheus, which holds no rule's history yet."""
    rules = plan.recording.rules
    reads = re.compile(r"(?<![\w:])(" + "|".join(re.escape(r.record) for r in rules) + r")\b")
    kinds = {"derived": [r for r in rules if reads.search(r.expr)]}
    derived = {r.record for r in kinds["derived"]}
    if any(set(reads.findall(r.expr)) & derived for r in kinds["derived"]):
        raise SystemExit("a rule reads a rule that reads a rule: backfill it in a third stage")
    rest = [r for r in rules if r not in kinds["derived"]]
    kinds["long"] = [r for r in rest if LONG_WINDOWS.search(r.record)]
    kinds["per-bucket"] = [r for r in rest if PER_BUCKET.search(r.record)]
    kinds["window"] = [r for r in rest if r not in kinds["long"] + kinds["per-bucket"]]
    files = {}
    for name, chosen in kinds.items():
        group = planning.RecordingGroup(f"bench-{name}", "1m", tuple(chosen))
        files[name] = folder / f"{name}-rules.yml"
        files[name].write_text(rule_files.render(plan.header, (group,)))
    files["alerts"] = folder / "alert-rules.yml"
    files["alerts"].write_text(rule_files.render(plan.header, plan.alerts))
    return files


def _time_slices(fleet: Fleet) -> list[tuple[int, int]]:
    """Windows for the per-bucket rules, each a whole fraction of a block, so that one backfill
    query answers at most ``POINTS_PER_BACKFILL_QUERY`` points (one per series and minute)."""
    series = fleet.label_sets * (len(REQUEST_DURATION.buckets or ()) + 1)
    minutes = max(1, POINTS_PER_BACKFILL_QUERY // series)
    seconds = BLOCK_SECONDS // math.ceil(BLOCK_SECONDS / (minutes * 60))
    first = fleet.start - fleet.start % seconds
    return [(t, min(t + seconds, fleet.end)) for t in range(first, fleet.end, seconds)]


def _backfill_stages(fleet: Fleet, files: dict[str, Path]) -> list[list[tuple[Path, int, int]]]:
    """promtool runs (rule file, start, end) in stages: a stage reads the blocks of the last."""
    return [
        [
            (files["window"], fleet.start, fleet.end),
            (files["long"], fleet.end - 600, fleet.end),
            *((files["per-bucket"], max(a, fleet.start), b - 1) for a, b in _time_slices(fleet)),
        ],
        [(files["derived"], fleet.start, fleet.end)],
    ]


def _backfill(folder: Path, data: Path, stages: list[list[tuple[Path, int, int]]]) -> int:
    """Backfill the recording rules into ``data``, stage by stage, each on a Prometheus started
    over the blocks so far; how many promtool runs it took."""
    out = folder / "rules-data"
    for runs in stages:
        prometheus = Prometheus(data, [], folder)
        try:
            _run_promtool_rules(prometheus, runs, out)
        finally:
            prometheus.stop()
        for block in out.iterdir():
            shutil.move(str(block), data / block.name)
        shutil.rmtree(out, ignore_errors=True)
    return sum(len(runs) for runs in stages)


def _run_promtool_rules(
    prometheus: Prometheus, runs: list[tuple[Path, int, int]], out: Path
) -> None:
    for path, start, end in runs:
        _run(
            "promtool",
            "tsdb",
            "create-blocks-from",
            "rules",
            "-q",
            f"--url={prometheus.url}",
            f"--start={start}",
            f"--end={end}",
            f"--output-dir={out}",
            str(path),
        )


def _overlapping_blocks(data: Path) -> int:
    """Blocks in ``data`` whose time range overlaps an earlier block's."""
    ranges = []
    for meta in data.glob("*/meta.json"):
        if "." in meta.parent.name:  # being written or deleted
            continue
        try:
            block = json.loads(meta.read_text())
        except (OSError, ValueError):  # deleted or renamed meanwhile
            continue
        ranges.append((block["minTime"], block["maxTime"]))
    overlapping, reach = 0, None
    for low, high in sorted(ranges):
        if reach is not None and low < reach:
            overlapping += 1
        reach = high if reach is None else max(reach, high)
    return overlapping


def _settle(data: Path) -> str:
    """Wait until Prometheus has merged the overlapping blocks (it checks once a minute)."""
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_SECONDS:
        if (count := _overlapping_blocks(data)) == 0:
            return f"blocks merged in {time.monotonic() - started:.0f} s"
        time.sleep(10)
    return f"{count} blocks still overlapping after {SETTLE_SECONDS} s (timed anyway)"


def main() -> bool:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--providers", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Keep the data in this folder, or reuse it.")
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
    folder = options.keep or Path(tempfile.mkdtemp(prefix="obsgen-bench-"))
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    shape = {"agents": options.agents, "models": options.models, "providers": options.providers}
    history = _kept(folder, "history.json", shape)
    if history is None:
        if any(data.iterdir()):
            raise SystemExit(f"{data} holds data of another fleet: choose an empty folder")
        end = int(time.time()) // 60 * 60 - 600
        fleet = Fleet(options.agents, options.models, options.providers, end)
        print(
            f"fleet: {fleet.label_sets:,} label sets, {fleet.hours} h of {fleet.scrape_seconds} s"
        )
        started = time.perf_counter()
        samples = _import_history(fleet, data)
        history = {**shape, "end": end, "samples": samples}
        (folder / "history.json").write_text(json.dumps(history))
        print(
            f"history: {samples:,} samples written and imported in "
            f"{time.perf_counter() - started:.0f} s"
        )
    else:
        fleet = Fleet(options.agents, options.models, options.providers, int(history["end"]))
        print(
            f"fleet: {fleet.label_sets:,} label sets, {fleet.hours} h of {fleet.scrape_seconds} s"
        )
        print(f"history: {history['samples']:,} samples, kept in {data}")
    end = fleet.end
    plan = planning.build(parse(__import__("yaml").safe_load(CONFIG), {}, "bench.yaml"))
    files = _write_rule_files(plan, folder)
    rule_files_loaded = list(files.values())

    recorded = {"end": end, "rules": sorted(r.record for r in plan.recording.rules)}
    if _kept(folder, "rules.json", recorded) is None:
        started = time.perf_counter()
        runs = _backfill(folder, data, _backfill_stages(fleet, files))
        (folder / "rules.json").write_text(json.dumps(recorded))
        print(
            f"rules: {len(plan.recording.rules)} backfilled in {runs} promtool runs, "
            f"{time.perf_counter() - started:.0f} s"
        )

    prometheus = Prometheus(data, rule_files_loaded, folder)
    ok = True
    try:
        print(f"prometheus: {_settle(data)}")
        agent = "team0.agent0"
        for label, chosen in (("every variable at All", None), (f"agent_id={agent}", agent)):
            rounds: dict[bool, list[dict[str, float]]] = {True: [], False: []}
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

"""One dashboard refresh against a real Prometheus holding a fleet's day of history, and
against a real VictoriaMetrics holding the same history.

Sends 24 h of 15 s history (``fleet_history``) to the real Prometheus over remote write, oldest
first, restarts it over the blocks it cut with the generated rules, backfills the recording
rules with ``promtool tsdb create-blocks-from rules`` (a run per core at a time: one run keeps
Prometheus busy on one query at a time), waits until Prometheus has merged the
overlapping blocks, then times one full refresh of the generated dashboard
(``dashboard_refresh``). The same refresh with each panel's raw-series query (the plan's
``baseline``) is timed in the same run, in interleaved rounds, and the best round of each is
kept. Every variable at All, then one agent, one model and one provider chosen. Then a snapshot
of that Prometheus is imported into VictoriaMetrics (``vmctl``) and the same refreshes are timed
there, as a ratio against Prometheus.

    python bench/bench_prometheus.py [--agents 50] [--models 10] [--providers 3] [--keep DIR]

With ``--keep DIR`` the history, the backfilled rules and the VictoriaMetrics import stay in
``DIR``, and a later run with the same fleet reuses them (at 15k label sets they take hours).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))

from dashboard_refresh import Choice, best, refresh, slowest
from fleet_history import BLOCK_SECONDS, Fleet, write_request
from query_servers import Prometheus, VictoriaMetrics
from remote_write import send

from llmobs.schema import REQUEST_DURATION
from obsgen import plan as planning
from obsgen.config import parse
from obsgen.render import rule_files

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
#: promtool runs side by side: each evaluates its rules one query at a time, using one core.
WORKERS = os.cpu_count() or 2
#: Files the window rules are dealt into, so that the runs share the cores evenly.
WINDOW_FILES = 2 * WORKERS
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


def _send_slice(args: tuple[Fleet, tuple[int, int], range, str]) -> int:
    fleet, chunk, agents, url = args
    request, samples = write_request(fleet, chunk, agents)
    send(url, request)
    return samples


def _kept(folder: Path, name: str, expected: dict[str, object]) -> dict[str, object] | None:
    """What an earlier run recorded in ``folder/name``, if it was for ``expected``."""
    path = folder / name
    if not path.exists():
        return None
    recorded = json.loads(path.read_text())
    return recorded if all(recorded.get(k) == v for k, v in expected.items()) else None


def _import_history(fleet: Fleet, folder: Path, data: Path) -> int:
    """Send the fleet's history to a Prometheus over ``data``, a request per core at a time,
    every slice of a half hour before the next half hour's; the samples. Prometheus cuts the
    blocks as it goes and keeps the last hours in its head (and write-ahead log)."""
    prometheus = Prometheus(data, [], folder, receive=True)
    samples = 0
    try:
        with ProcessPoolExecutor(WORKERS) as pool:
            for chunk in fleet.chunks():
                parts = [(fleet, chunk, s, prometheus.write_url) for s in fleet.agent_slices()]
                samples += sum(pool.map(_send_slice, parts))
    finally:
        prometheus.stop()
    return samples


def _write_rule_files(plan, folder: Path) -> dict[str, Path]:
    """The plan's recording rules in files by how they are backfilled (the window rules in
    several, run side by side), and its alerts.

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
    window = [r for r in rest if r not in kinds["long"] + kinds["per-bucket"]]
    for part in range(WINDOW_FILES):  # dealt round, so that each file has heavy rules and light
        kinds[f"window-{part}"] = window[part::WINDOW_FILES]
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
    """promtool runs (rule file, start, end) in stages, the longest first: a stage reads the
    blocks of the last."""
    windows = [path for name, path in files.items() if name.startswith("window-")]
    return [
        [
            *((path, fleet.start, fleet.end) for path in windows),
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
        shutil.rmtree(out, ignore_errors=True)  # the partial blocks of a run stopped midway
        out.mkdir(parents=True)
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
    """The ``runs``, ``WORKERS`` at a time, in their order (each writes blocks of its own)."""

    def run(path: Path, start: int, end: int) -> None:
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

    with ThreadPoolExecutor(WORKERS) as pool:
        for finished in [pool.submit(run, *each) for each in runs]:
            finished.result()


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


def _flush_head(folder: Path, data: Path) -> None:
    """Cut the hours Prometheus kept in its head into a block and drop its write-ahead log: the
    Prometheus that evaluates the rules while the dashboard is timed would cut it meanwhile."""
    prometheus = Prometheus(data, [], folder)
    try:
        snapshot = prometheus.snapshot(data)
    finally:
        prometheus.stop()
    for block in snapshot.iterdir():  # the blocks of ``data`` linked, and the head's
        if not (data / block.name).exists():
            shutil.move(str(block), data / block.name)
    for leftover in ("snapshots", "wal", "chunks_head"):
        shutil.rmtree(data / leftover, ignore_errors=True)


def _prepare(options, folder: Path, data: Path) -> Fleet:
    """The fleet's history in ``data``, all in blocks: sent, or kept from an earlier run."""
    shape = {"agents": options.agents, "models": options.models, "providers": options.providers}
    history = _kept(folder, "history.json", shape)
    if history is None and any(data.iterdir()):
        raise SystemExit(f"{data} holds data of another fleet: choose an empty folder")
    end = int(history["end"]) if history else int(time.time()) // 60 * 60 - 600
    fleet = Fleet(options.agents, options.models, options.providers, end)
    print(f"fleet: {fleet.label_sets:,} label sets, {fleet.hours} h of {fleet.scrape_seconds} s")
    if history is None:
        started = time.perf_counter()
        history = {**shape, "end": end, "samples": _import_history(fleet, folder, data)}
        (folder / "history.json").write_text(json.dumps(history))
        print(
            f"history: {history['samples']:,} samples sent in {time.perf_counter() - started:.0f} s"
        )
    else:
        print(f"history: {history['samples']:,} samples, kept in {data}")
    if not history.get("flushed"):
        _flush_head(folder, data)
        (folder / "history.json").write_text(json.dumps({**history, "flushed": True}))
    return fleet


def _choices() -> list[Choice]:
    """Every variable at All, then one value of each variable: the ways the board is used."""
    return [
        Choice("every variable at All"),
        Choice("agent_id=team0.agent0", {"agent_id": "team0.agent0"}),
        Choice("model=model-0", {"model": "model-0"}),
        Choice("provider=provider-0", {"provider": "provider-0"}),
    ]


def _time_prometheus(prometheus, plan, end, choices, baseline_rounds) -> dict[str, Timed]:
    timed = {}
    for choice in choices:
        rounds: dict[bool, list[dict[str, float]]] = {True: [], False: []}
        for index in range(ROUNDS):
            for baseline in (False, True):
                if not baseline or index < baseline_rounds:
                    rounds[baseline].append(
                        refresh(prometheus, plan.dashboard, end, baseline, choice)
                    )
        timed[choice.label] = Timed(
            best(rounds[False]), best(rounds[True]) if rounds[True] else None
        )
        planned = timed[choice.label].planned
        top = slowest(planned)
        print(  # as it comes: a run of hours keeps what it measured if stopped later
            f"prometheus, {choice.label}: {sum(planned.values()) * 1e3:.0f} ms, slowest "
            f"{top} ({planned[top] * 1e3:.0f} ms)",
            flush=True,
        )
    return timed


def _time_victoria_metrics(prometheus, folder, end, plan, choices) -> dict[str, dict[str, float]]:
    """Import a snapshot of ``prometheus`` into VictoriaMetrics (once per kept folder), stop
    ``prometheus``, and time the refreshes there."""
    vm_data = folder / "vm-data"
    if _kept(folder, "victoria-metrics.json", {"end": end}) is None:
        shutil.rmtree(vm_data, ignore_errors=True)
        snapshot = prometheus.snapshot(folder / "data")
        prometheus.stop()
        store = VictoriaMetrics(vm_data, folder)
        try:
            started = time.perf_counter()
            store.import_snapshot(snapshot, folder / "vmctl.log")
            (folder / "victoria-metrics.json").write_text(json.dumps({"end": end}))
            print(f"victoria-metrics: snapshot imported in {time.perf_counter() - started:.0f} s")
        finally:
            store.stop()
            shutil.rmtree(snapshot, ignore_errors=True)
    else:
        prometheus.stop()
    store = VictoriaMetrics(vm_data, folder)
    try:
        return {
            choice.label: best(
                [refresh(store, plan.dashboard, end, False, choice) for _ in range(ROUNDS)]
            )
            for choice in choices
        }
    finally:
        store.stop()


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
        "where one takes minutes; 0 times none.",
    )
    parser.add_argument("--no-victoria-metrics", action="store_true", help="Time Prometheus only.")
    options = parser.parse_args()
    binaries = ["prometheus", "promtool"]
    if not options.no_victoria_metrics:
        binaries += ["victoria-metrics", "vmctl"]
    for binary in binaries:
        if shutil.which(binary) is None:
            raise SystemExit(f"{binary} is not on PATH (make system-deps)")
    folder = options.keep or Path(tempfile.mkdtemp(prefix="obsgen-bench-"))
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    fleet = _prepare(options, folder, data)
    end = fleet.end
    plan = planning.build(parse(yaml.safe_load(CONFIG), {}, "bench.yaml"))
    files = _write_rule_files(plan, folder)

    recorded = {"end": end, "rules": sorted(r.record for r in plan.recording.rules)}
    if _kept(folder, "rules.json", recorded) is None:
        started = time.perf_counter()
        runs = _backfill(folder, data, _backfill_stages(fleet, files))
        (folder / "rules.json").write_text(json.dumps(recorded))
        (folder / "victoria-metrics.json").unlink(missing_ok=True)  # the rules changed
        print(
            f"rules: {len(plan.recording.rules)} backfilled in {runs} promtool runs, "
            f"{time.perf_counter() - started:.0f} s"
        )

    choices = _choices()
    prometheus = Prometheus(data, list(files.values()), folder)
    try:
        print(f"prometheus: {_settle(data)}")
        timed = _time_prometheus(prometheus, plan, end, choices, options.baseline_rounds)
        on_vm = None
        if not options.no_victoria_metrics:
            on_vm = _time_victoria_metrics(prometheus, folder, end, plan, choices)
    finally:
        prometheus.stop()
        if options.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    ok = True
    for choice in choices:
        ok &= _report(choice.label, timed[choice.label], on_vm and on_vm[choice.label])
    return ok


@dataclass(frozen=True)
class Timed:
    """One refresh's best times per row: the plan's queries, and the raw-series baseline's."""

    planned: dict[str, float]
    raw: dict[str, float] | None


def _report(label: str, timed: Timed, on_vm: dict[str, float] | None) -> bool:
    planned, raw = timed.planned, timed.raw or {}
    total = sum(planned.values())
    verdict = "ok" if total <= TARGET_SECONDS else "MISSED"
    print(f"\none refresh, 24 h, {label}:")
    print(f"  {'':<34} {'prometheus':>12} {'raw series':>12} {'victoria-metrics':>17}")
    for name in planned:
        raw_ms = f"{raw[name] * 1e3:9.1f} ms" if name in raw else f"{'-':>12}"
        vm_ms = f"{on_vm[name] * 1e3:14.1f} ms" if on_vm else f"{'-':>17}"
        print(f"  {name:<34} {planned[name] * 1e3:9.1f} ms {raw_ms} {vm_ms}")
    top = slowest(planned)
    line = f"  total {total * 1e3:.0f} ms; slowest panel {top} ({planned[top] * 1e3:.0f} ms)"
    if raw:
        baseline = sum(raw.values())
        line += f"; raw series {baseline * 1e3:.0f} ms, ratio {total / baseline:.3f}"
    if on_vm:
        vm_total, vm_top = sum(on_vm.values()), slowest(on_vm)
        line += (
            f"; victoria-metrics {vm_total * 1e3:.0f} ms (slowest {vm_top}, "
            f"{on_vm[vm_top] * 1e3:.0f} ms), ratio against prometheus {vm_total / total:.2f}"
        )
    print(f"{line}; target <= {TARGET_SECONDS:g} s {verdict}")
    return total <= TARGET_SECONDS


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

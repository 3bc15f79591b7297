"""Timing helpers for the benchmarks: every figure is a ratio against a baseline of the same run."""

from __future__ import annotations

import gc
import multiprocessing
import os
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def per_call_seconds(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``fn``, timed over ``calls`` calls with the collector off."""
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls
    finally:
        gc.enable()


def best_of(rounds: int, candidates: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Run each candidate ``rounds`` times, interleaved, and keep each one's fastest time."""
    best = {name: float("inf") for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            best[name] = min(best[name], run())
    return best


def paired_median(
    rounds: int, baseline: Callable[[], float], measured: Callable[[], float]
) -> tuple[float, float]:
    """Time ``baseline`` and ``measured`` back to back ``rounds`` times, taking turns at going
    first; return ``(measured, baseline)``: the baseline's median time, and that times the
    median of the rounds' ratios. Two neighbouring timings share their moment's load, so for
    round trips whose time swings with the machine's load more than the difference measured,
    the ratio of each pair holds where the best of each side does not."""
    ratios, baselines = [], []
    for index in range(rounds):
        if index % 2:
            after = measured()
            before = baseline()
        else:
            before = baseline()
            after = measured()
        ratios.append(after / before)
        baselines.append(before)
    typical = statistics.median(baselines)
    return typical * statistics.median(ratios), typical


#: How each unit shows a measured value: seconds as µs or ms, KiB as MiB.
SCALES = {"µs": 1e6, "ms": 1e3, "MiB": 1 / 1024}


def report(title: str, measured: float, baseline: float, target: float, unit: str = "µs") -> bool:
    """Print one figure as a ratio against its baseline; return whether it meets ``target``.
    ``measured`` and ``baseline`` are seconds, or KiB for ``unit="MiB"``."""
    scale = SCALES[unit]
    ratio = measured / baseline
    verdict = "ok" if ratio <= target else "MISSED"
    print(
        f"{title:<58} {measured * scale:9.2f} {unit} vs {baseline * scale:9.2f} {unit}"
        f"  ratio {ratio:5.2f} (target <= {target:.2f})  {verdict}"
    )
    return ratio <= target


def resident_kib() -> int:
    """This process's resident memory now, in KiB (its peak where there is no /proc)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def in_fresh_process(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` run in a new interpreter (spawned, not forked): what it measures of the
    process's memory is its own, not what earlier benchmarks left behind. ``fn`` must be a
    module-level function."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)

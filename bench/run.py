"""Run every benchmark, each in a fresh interpreter; exit 1 if a target is missed.

A fresh interpreter each, because what one benchmark leaves behind (background writers, a heap
of a million label sets, open connections) would slow the next one's microsecond figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = [
    "bench_metrics",
    "bench_costs",
    "bench_attribution",
    "bench_postgres",
    "bench_instrument",
    "bench_otel",
]


def run(module: str) -> bool:
    """Whether ``module``'s ``main()`` met every target it checks."""
    script = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); import {module}; "
        f"sys.exit(0 if {module}.main() else 1)"
    )
    return subprocess.run([sys.executable, "-c", script], check=False).returncode == 0


if __name__ == "__main__":
    results = [run(module) for module in BENCHMARKS]
    sys.exit(0 if all(results) else 1)

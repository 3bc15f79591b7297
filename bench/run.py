"""Run every benchmark; exit 1 if a target is missed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_attribution
import bench_costs
import bench_instrument
import bench_metrics
import bench_otel
import bench_postgres

if __name__ == "__main__":
    results = [
        bench_metrics.main(),
        bench_costs.main(),
        bench_attribution.main(),
        bench_postgres.main(),
        bench_instrument.main(),
        bench_otel.main(),
    ]
    sys.exit(0 if all(results) else 1)

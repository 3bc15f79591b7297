"""Multiprocess mode with real worker processes: totals add up across workers, in-flight
requests are summed over live workers, and a dead worker's gauges go with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.parser import text_string_to_metric_families

WORKER = Path(__file__).with_name("mp_worker.py")
REQUESTS, IN_FLIGHT = 50, 3


def start_worker(directory: Path, agent: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), agent, str(REQUESTS), str(IN_FLIGHT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "ready", "worker did not start"
    return worker


def scrape(worker: subprocess.Popen[str]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write("metrics\n")
    worker.stdin.flush()
    text = worker.stdout.readline().replace("\\n", "\n")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: dict, name: str, **labels: str) -> float:
    return sum(
        value
        for (sample_name, sample_labels), value in samples.items()
        if sample_name == name and labels.items() <= dict(sample_labels).items()
    )


def stop(worker: subprocess.Popen[str]) -> None:
    if worker.poll() is None:
        assert worker.stdin is not None
        worker.stdin.write("exit\n")
        worker.stdin.flush()
        worker.wait(timeout=10)


def test_workers_aggregate_and_dead_workers_leave_the_gauge(tmp_path):
    from llmobs import mark_process_dead

    workers = [start_worker(tmp_path, agent) for agent in ("a", "b", "a")]
    try:
        samples = scrape(workers[0])
        assert total(samples, "llm_requests_total", status="success") == 3 * REQUESTS
        assert total(samples, "llm_requests_total", agent_id="a") == 2 * REQUESTS
        assert total(samples, "llm_tokens_used_total", token_type="completion") == 60 * REQUESTS
        assert total(samples, "llm_cost_total") == 0.25 * 3 * REQUESTS
        assert total(samples, "llm_request_duration_seconds_count") == 3 * REQUESTS
        assert total(samples, "llm_active_requests") == 3 * IN_FLIGHT
        assert total(samples, "llm_active_requests", agent_id="a") == 2 * IN_FLIGHT
        assert total(samples, "llm_cache_size", tenant="acme") == 7
        # No per-pid series leak out of the aggregation.
        assert not any("pid" in dict(labels) for _, labels in samples)

        dead = workers.pop()
        dead.send_signal(signal.SIGKILL)
        dead.wait(timeout=10)
        mark_process_dead(dead.pid, str(tmp_path))

        samples = scrape(workers[0])
        assert total(samples, "llm_active_requests") == 2 * IN_FLIGHT
        assert total(samples, "llm_active_requests", agent_id="a") == IN_FLIGHT
        # Counted work of the dead worker stays counted.
        assert total(samples, "llm_requests_total", status="success") == 3 * REQUESTS
    finally:
        for worker in workers:
            stop(worker)


def test_a_missing_multiprocess_folder_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere"
    result = subprocess.run(
        [sys.executable, "-c", "from llmobs import get_llm_metrics; get_llm_metrics()"],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(missing)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"ValueError: PROMETHEUS_MULTIPROC_DIR='{missing}' is not a folder: create it (empty) "
        "before the service starts, or unset it for single-process mode"
    )


RECORD_MANY_AGENTS = """
import sys
from llmobs import get_llm_metrics
metrics = get_llm_metrics()
worker, count = sys.argv[1], int(sys.argv[2])
for n in range(count):
    metrics.record_request(f"{worker}.agent-{n}", "gpt-4o", "openai", prompt_tokens=1)
"""


def test_label_caps_hold_for_what_a_scrape_of_all_workers_exposes(tmp_path):
    folder = tmp_path / "multiproc"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    workers = [
        subprocess.Popen([sys.executable, "-c", RECORD_MANY_AGENTS, f"w{n}", "300"], env=env)
        for n in range(4)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0] * 4
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    requests = [
        s for family in registry.collect() for s in family.samples if s.name == "llm_requests_total"
    ]
    agents = {s.labels["agent_id"] for s in requests}
    assert len(agents - {"__overflow__"}) == 500  # the default cap, across all four workers
    assert "__overflow__" in agents
    assert sum(s.value for s in requests) == 1_200  # every request counted, folded or not

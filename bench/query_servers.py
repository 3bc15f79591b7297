"""The query servers the dashboard benchmark reads: a real Prometheus over the history's blocks,
and a real VictoriaMetrics holding the same history (imported from a Prometheus snapshot with
``vmctl``)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from dashboard_refresh import QueryAPI

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from helpers import free_port


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{what} did not get ready: see {log}")


class Server(QueryAPI):
    """A query server process on 127.0.0.1."""

    def __init__(self, command: list[str], port: int, ready_path: str, log: Path) -> None:
        super().__init__(f"http://127.0.0.1:{port}")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log.open("w"))
        _wait_ready(self.url + ready_path, self.process, log, command[0])

    def stop(self) -> None:
        """Stop; Prometheus finishes a compaction first, which at scale takes minutes."""
        self.process.terminate()
        try:
            self.process.wait(timeout=900)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Prometheus(Server):
    """A Prometheus over ``data``, loading ``rules``; with ``receive``, a remote-write
    receiver at ``write_url``."""

    def __init__(self, data: Path, rules: list[Path], folder: Path, receive: bool = False) -> None:
        port = free_port()
        config = folder / "prometheus.yml"
        files = json.dumps([str(r) for r in rules])
        config.write_text(f"global: {{evaluation_interval: 1m}}\nrule_files: {files}\n")
        command = [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=30d",
            f"--web.listen-address=127.0.0.1:{port}",
            # The raw-series baseline reads far more than the default 50M samples at once.
            "--query.max-samples=2000000000",
            "--query.timeout=10m",
            # Blocks stay two hours long: only overlapping blocks are merged, in one pass.
            "--storage.tsdb.max-block-duration=2h",
            "--web.enable-admin-api",  # for the snapshot VictoriaMetrics imports
        ]
        if receive:
            command.append("--web.enable-remote-write-receiver")
        self.write_url = f"http://127.0.0.1:{port}/api/v1/write"
        super().__init__(command, port, "/-/ready", folder / "prometheus.log")

    def snapshot(self, data: Path) -> Path:
        """A snapshot of every block (the head flushed too), for ``vmctl``."""
        request = urllib.request.Request(
            f"{self.url}/api/v1/admin/tsdb/snapshot", data=b"", method="POST"
        )
        with urllib.request.urlopen(request, timeout=3600) as response:
            name = json.loads(response.read())["data"]["name"]
        return data / "snapshots" / name


class VictoriaMetrics(Server):
    """A single-node VictoriaMetrics over ``data``, its result cache off so that every round
    reads the data as the first does."""

    def __init__(self, data: Path, folder: Path) -> None:
        port = free_port()
        command = [
            "victoria-metrics",
            f"-storageDataPath={data}",
            f"-httpListenAddr=127.0.0.1:{port}",
            "-retentionPeriod=100y",
            "-search.disableCache",
            "-search.latencyOffset=0s",
            "-search.maxUniqueTimeseries=100000000",
            "-search.maxSamplesPerQuery=100000000000",
            "-search.maxQueryDuration=15m",
            "-search.maxPointsPerTimeseries=100000",
        ]
        super().__init__(command, port, "/health", folder / "victoria-metrics.log")

    def import_snapshot(self, snapshot: Path, log: Path) -> None:
        """Import a Prometheus snapshot with ``vmctl``, then flush it to searchable parts.
        vmctl insists on a terminal, so it runs under ``script``, which gives it one."""
        command = [
            "vmctl",
            "prometheus",
            "-s",
            "--vm-disable-progress-bar",
            f"--prom-snapshot={snapshot}",
            f"--vm-addr={self.url}",
            "--vm-concurrency=2",
            "--prom-concurrency=2",
        ]
        result = subprocess.run(
            ["script", "-q", "-e", "-c", shlex.join(command), str(log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        if result.returncode != 0:
            raise SystemExit(f"vmctl failed: see {log}")
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=600):
            pass

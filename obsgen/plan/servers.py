"""How the servers of each topology run: the command-line flags of Prometheus, of the central
topology's scrapers, VictoriaMetrics and vmalert, derived once from the config for the local
stack and the generated compose file alike.

The central topology's HA design: every scraper runs the same config with no replica label, so
the scrapers of a set send series with identical labels, and the store keeps one sample of each
series per scrape interval (``-dedup.minScrapeInterval``). Sums over the fleet then count every
replica of the service once, whatever the number of scrapers, and one scraper failing leaves no
gap. The rules' results and the alerts' state are written to the same store, so the store's
one-sample-per-interval must not thin them: the rules are evaluated no more often than the
service is scraped.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from obsgen.config import Config
from obsgen.config.model import PrometheusSettings, RemoteWrite, Topology
from obsgen.config.validation import duration_seconds

#: Where each server of the central topology listens by default (on 127.0.0.1): vmalert, and
#: the first scraper of each kind (the others on the ports after it).
VMALERT_PORT = 8880
SCRAPER_PORTS = {"prometheus": 9090, "vmagent": 8429}
#: The images the generated compose file runs: the versions whose flags these are.
IMAGES = {
    "victoria-metrics": "victoriametrics/victoria-metrics:v1.79.14",
    "vmalert": "victoriametrics/vmalert:v1.79.14",
    "vmagent": "victoriametrics/vmagent:v1.79.14",
    "prometheus": "prom/prometheus:v2.53.3",
    "alertmanager": "prom/alertmanager:v0.28.0",
    "grafana": "grafana/grafana:11.4.0",
}
#: Prometheus keeps the exemplars it scrapes (trace ids on latency and cost) only with this flag.
EXEMPLAR_STORAGE = "--enable-feature=exemplar-storage"
#: How many exemplars it keeps in memory (a ring shared by every series; about 100 bytes each).
MAX_EXEMPLARS = 100_000
#: How long remote write may hold a sample before sending it (Prometheus' and vmagent's
#: batch deadline): queries of the store look this far, and two scrapes, behind now.
SEND_DELAY_SECONDS = 5
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
#: A range (of a selector or a subquery) with the offset after it, or an offset alone.
_LOOKBACK = re.compile(
    rf"\[({_DURATION})(?::{_DURATION})?\](?:\s*offset\s+({_DURATION}))?|offset\s+({_DURATION})"
)


def longest_lookback(exprs: Iterable[str]) -> float:
    """The furthest back, in seconds, any of ``exprs`` reads: a range and its offset."""
    return max(
        (
            sum(duration_seconds(part) for part in match if part)
            for expr in exprs
            for match in _LOOKBACK.findall(expr)
        ),
        default=0.0,
    )


def _whole(seconds: float) -> str:
    """``seconds`` as a duration Prometheus and VictoriaMetrics both read."""
    return f"{int(seconds)}s" if seconds < 60 or seconds % 60 else f"{int(seconds // 60)}m"


@dataclass(frozen=True)
class Servers:
    """The flags of each server, by the files and addresses it is given."""

    topology: Topology
    #: The scrape job, evaluation interval, Alertmanagers and long-term stores.
    settings: PrometheusSettings
    #: How long the stores keep samples: a day past the longest window a rule or panel reads.
    retention_days: int

    @property
    def retention(self) -> str:
        return f"{self.retention_days}d"

    @property
    def runs_store(self) -> bool:
        """Whether the stack runs the store itself: its URL is on this host."""
        host = urllib.parse.urlsplit(self.topology.store.query_url).hostname
        return host in ("localhost", "127.0.0.1", "::1")

    @property
    def store_port(self) -> int:
        """The port of the store's query URL."""
        parts = urllib.parse.urlsplit(self.topology.store.query_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def scraper_port(self) -> int:
        """The port of the first scraper."""
        return SCRAPER_PORTS[self.topology.scraper]

    @property
    def scraper_writes(self) -> tuple[RemoteWrite, ...]:
        """Where each scraper writes: the central store, then the config's remote_write."""
        return (RemoteWrite(self.topology.store.remote_write_url), *self.settings.remote_write)

    @property
    def scraper_config_writes(self) -> tuple[RemoteWrite, ...]:
        """The destinations the scraper's config file names (vmagent takes them as flags)."""
        return self.scraper_writes if self.topology.scraper == "prometheus" else ()

    def prometheus(self, config_file: str, data: str, listen: str) -> tuple[str, ...]:
        """The single topology's Prometheus."""
        return (
            f"--config.file={config_file}",
            f"--storage.tsdb.path={data}",
            f"--storage.tsdb.retention.time={self.retention}",
            f"--web.listen-address={listen}",
            "--web.enable-lifecycle",
            EXEMPLAR_STORAGE,
        )

    def scraper(self, config_file: str, data: str, listen: str) -> tuple[str, ...]:
        """One scraper of the central topology's HA set (all run the same flags)."""
        if self.topology.scraper == "vmagent":
            return (
                f"-promscrape.config={config_file}",
                *_vmagent_writes(self.scraper_writes),
                f"-remoteWrite.tmpDataPath={data}",
                f"-httpListenAddr={listen}",
            )
        return (
            "--enable-feature=agent",
            f"--config.file={config_file}",
            f"--storage.agent.path={data}",
            f"--web.listen-address={listen}",
            "--web.enable-lifecycle",
        )

    def store(self, data: str, listen: str) -> tuple[str, ...]:
        """A VictoriaMetrics single node as the central store."""
        scrape_interval = self.settings.scrape.interval
        behind = 2 * duration_seconds(scrape_interval) + SEND_DELAY_SECONDS
        return (
            f"-storageDataPath={data}",
            f"-httpListenAddr={listen}",
            f"-retentionPeriod={self.retention}",
            f"-dedup.minScrapeInterval={scrape_interval}",
            f"-search.latencyOffset={_whole(behind)}",
        )

    def vmalert(self, rule_files: Iterable[str], listen: str) -> tuple[str, ...]:
        """vmalert, evaluating the rules against the store and alerting Alertmanager."""
        store = self.topology.store
        return (
            *(f"-rule={path}" for path in rule_files),
            f"-datasource.url={store.query_url}",
            f"-remoteWrite.url={store.write_base}",
            f"-remoteRead.url={store.query_url}",
            *(f"-notifier.url=http://{target}" for target in self.settings.alertmanagers),
            f"-evaluationInterval={self.settings.evaluation_interval}",
            f"-httpListenAddr={listen}",
        )


def _vmagent_writes(destinations: tuple[RemoteWrite, ...]) -> list[str]:
    """vmagent's flags for ``destinations``: each flag once per destination, in their order
    (empty where one has no such setting), as vmagent pairs them."""
    flags = [f"-remoteWrite.url={d.url}" for d in destinations]
    settings = {
        "basicAuth.username": [d.basic_auth.username if d.basic_auth else "" for d in destinations],
        "basicAuth.passwordFile": [
            d.basic_auth.password_file if d.basic_auth else "" for d in destinations
        ],
        "bearerTokenFile": [d.bearer_token_file or "" for d in destinations],
    }
    for name, values in settings.items():
        if any(values):
            flags += [f"-remoteWrite.{name}={value}" for value in values]
    return flags


def servers(config: Config, exprs: Iterable[str]) -> Servers:
    """The servers of ``config``, whose rules and panels read ``exprs``."""
    windows = [duration_seconds(objective.window) for objective in config.slo.objectives]
    reach = max([longest_lookback(exprs), *windows])
    return Servers(
        topology=config.topology,
        settings=config.prometheus,
        retention_days=math.ceil(reach / 86400) + 1,
    )

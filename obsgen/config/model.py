"""The validated, frozen model of ``obsgen.yaml``: every threshold and selector the generator
uses lives here."""

from __future__ import annotations

from dataclasses import dataclass, field

API_VERSION = "obsgen/v1"
DEFAULT_CONFIG = "obsgen.yaml"


@dataclass(frozen=True)
class TLS:
    """TLS settings for scraping an HTTPS metrics endpoint."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False


@dataclass(frozen=True)
class BasicAuth:
    """Basic auth; the password is read by Prometheus from ``password_file``."""

    username: str
    password_file: str


@dataclass(frozen=True)
class Scrape:
    """How Prometheus scrapes the LLM service (the seed's "Configure Prometheus" step)."""

    job_name: str = "llm-service"
    targets: tuple[str, ...] = ("localhost:8000",)
    metrics_path: str = "/metrics"
    scheme: str = "http"
    interval: str = "15s"
    timeout: str = "10s"
    tls: TLS | None = None
    basic_auth: BasicAuth | None = None


@dataclass(frozen=True)
class RemoteWrite:
    """A long-term store Prometheus sends samples to (Mimir, Thanos, Cortex, ...)."""

    url: str
    basic_auth: BasicAuth | None = None
    bearer_token_file: str | None = None


@dataclass(frozen=True)
class PrometheusSettings:
    """Prometheus-wide settings: evaluation interval, Alertmanagers, remote write."""

    evaluation_interval: str = "15s"
    scrape: Scrape = field(default_factory=Scrape)
    alertmanagers: tuple[str, ...] = ("localhost:9093",)
    remote_write: tuple[RemoteWrite, ...] = ()


@dataclass(frozen=True)
class Budgets:
    """Spend budgets in USD and the percentages at which they alert."""

    daily: float | None = 100.0
    weekly: float | None = None
    monthly: float | None = None
    warning_percent: float = 80.0
    critical_percent: float = 100.0
    #: LLMSpendAnomaly fires when the last hour's spend rate is this many times the same hour's
    #: a week before (None: no anomaly alert).
    anomaly_factor: float | None = 3.0
    teams: tuple[tuple[str, float], ...] = ()
    agents: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class SLO:
    """Service level objectives, the seed's "Monitor Key Metrics" defaults."""

    success_rate_percent: float = 99.0
    error_rate_percent: float = 1.0
    cache_hit_rate_percent: float = 30.0
    p99_latency_seconds: float = 10.0


@dataclass(frozen=True)
class Dashboard:
    """The generated Grafana dashboard's identity."""

    title: str = "LLM Usage"
    uid: str = "llm-usage"
    refresh: str = "30s"


@dataclass(frozen=True)
class Config:
    """The whole validated config."""

    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    budgets: Budgets = field(default_factory=Budgets)
    slo: SLO = field(default_factory=SLO)
    team_separator: str = "."
    dashboard: Dashboard = field(default_factory=Dashboard)
    runbook_url: str = "https://github.com/obsgen/obsgen/blob/main/docs/runbooks.md"
    alert_for: tuple[tuple[str, str], ...] = ()
    source: str = DEFAULT_CONFIG

    @property
    def source_name(self) -> str:
        """The config file's name, as generated files cite it."""
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]

    def for_duration(self, alert: str, default: str) -> str:
        """The ``for:`` of ``alert``: the config's override, else ``default``."""
        return dict(self.alert_for).get(alert, default)

"""The validated, frozen model of ``obsgen.yaml``: every threshold and selector the generator
uses lives here."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmobs.configfile import API_VERSION, DEFAULT_CONFIG, Budgets, Limit, RuntimeConfig

__all__ = ["API_VERSION", "DEFAULT_CONFIG", "Budgets", "Config", "Limit"]


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
    """How Prometheus scrapes the LLM service's ``/metrics``."""

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


#: Where a write URL of a store that VictoriaMetrics' vmalert can also write to ends.
REMOTE_WRITE_PATH = "/api/v1/write"


@dataclass(frozen=True)
class Store:
    """The central store every scraper writes to and the rules are evaluated against: a
    VictoriaMetrics single node (one URL for both) or cluster (vmselect and vminsert)."""

    query_url: str = "http://localhost:8428"
    #: Where samples are written (``query_url`` + REMOTE_WRITE_PATH if None).
    write_url: str | None = None

    @property
    def remote_write_url(self) -> str:
        """The URL the scrapers remote_write to."""
        return self.write_url or self.query_url.rstrip("/") + REMOTE_WRITE_PATH

    @property
    def write_base(self) -> str:
        """``remote_write_url`` without REMOTE_WRITE_PATH, as vmalert takes it."""
        return self.remote_write_url.removesuffix(REMOTE_WRITE_PATH)


#: Where the service's LLM metrics come from: the llmobs runtime (llm_*), or OpenTelemetry GenAI
#: client metrics (gen_ai_client_*) that translation rules record as llmobs series.
LLMOBS, OTEL_GENAI = "llmobs", "otel-genai"
METRIC_SOURCES = (LLMOBS, OTEL_GENAI)
#: How the fleet is monitored: one Prometheus that scrapes, evaluates and alerts, or scrapers
#: that write into a central store, where the rules are evaluated.
TOPOLOGIES = ("single", "central")
#: What scrapes the service in the central topology.
SCRAPERS = ("prometheus", "vmagent")


@dataclass(frozen=True)
class Topology:
    """``single``: one Prometheus. ``central``: ``scrapers`` identical scrapers (an HA set:
    Prometheus in agent mode, or vmagent) write into the central ``store``, which keeps one
    copy of each sample; vmalert evaluates the rules there and alerts Alertmanager."""

    kind: str = "single"
    scraper: str = "prometheus"
    scrapers: int = 2
    store: Store = field(default_factory=Store)

    @property
    def central(self) -> bool:
        return self.kind == "central"


MONITORS = ("service", "pod")
#: The label kube-prometheus-stack's Grafana dashboard sidecar loads ConfigMaps by, by default.
DASHBOARD_SIDECAR_LABELS = (("grafana_dashboard", "1"),)


@dataclass(frozen=True)
class Kubernetes:
    """What ``obsgen build kubernetes`` renders for the prometheus-operator: where, selected by
    what, and which Secret holds the files the config names."""

    namespace: str = "default"
    release: str = "kube-prometheus-stack"
    monitor: str = "service"
    #: Labels of the service or pods; empty: ``app.kubernetes.io/name`` = the scrape job.
    selector: tuple[tuple[str, str], ...] = ()
    port: str = "metrics"
    secret: str = "obsgen-notifications"
    dashboard_labels: tuple[tuple[str, str], ...] = DASHBOARD_SIDECAR_LABELS


@dataclass(frozen=True)
class Objective:
    """An error-budget SLO on one SLI: the share of its events that must be good over
    ``window``; a latency SLI's good events come within ``seconds``."""

    sli: str
    percent: float
    window: str = "30d"
    seconds: float | None = None

    @property
    def budget(self) -> float:
        """The share of events that may be bad: the error budget."""
        return round(1 - self.percent / 100, 12)


#: The SLIs an objective can be set on, with the objective each has by default.
DEFAULT_OBJECTIVES = (
    Objective("availability", 99.5),
    Objective("latency", 99.0, seconds=10.0),
    Objective("time_to_first_token", 95.0, seconds=2.5),
)


@dataclass(frozen=True)
class SLO:
    """Service level objectives: what the SLO alerts and panels hold the service to."""

    success_rate_percent: float = 99.0
    error_rate_percent: float = 1.0
    cache_hit_rate_percent: float = 30.0
    p99_latency_seconds: float = 10.0
    #: p95 of the time to the first token of streamed calls.
    p95_time_to_first_token_seconds: float = 2.5
    #: Alert when less than this share of a provider's rate limit is left.
    rate_limit_headroom_percent: float = 10.0
    #: Error budgets, alerted on by how fast they burn.
    objectives: tuple[Objective, ...] = DEFAULT_OBJECTIVES


@dataclass(frozen=True)
class TraceLink:
    """Where Grafana opens the trace of an exemplar's ``trace_id``: one of its own data
    sources (Tempo, Jaeger, Zipkin) by uid, or an outside URL holding ``${__value.raw}``."""

    datasource_uid: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Dashboard:
    """The generated Grafana dashboard's identity, and where its exemplars link."""

    title: str = "LLM Usage"
    uid: str = "llm-usage"
    refresh: str = "30s"
    traces: TraceLink | None = None


@dataclass(frozen=True)
class Runs:
    """Bounds on one agent run: a run past one is a runaway, and alerts (None: no alert)."""

    max_cost_usd: float | None = 5.0
    max_steps: float | None = 50.0


@dataclass(frozen=True)
class Prices:
    """Where model prices are fetched from, where they are written, how old they may get."""

    #: None: genai-prices' published data file.
    update_url: str | None = None
    data_file: str = "prices.json"
    max_age_days: int = 30


@dataclass(frozen=True)
class Slack:
    """A Slack channel; the webhook URL (a secret) is read by Alertmanager from a file."""

    api_url_file: str
    channel: str | None = None


@dataclass(frozen=True)
class Webhook:
    """An HTTP endpoint Alertmanager posts alerts to: a URL without secrets, or a file holding
    the URL (Alertmanager 0.26 or later)."""

    url: str | None = None
    url_file: str | None = None


@dataclass(frozen=True)
class Email:
    """Mail through an SMTP server; its password is read by Alertmanager from a file."""

    to: str
    sender: str
    smarthost: str
    auth_username: str | None = None
    auth_password_file: str | None = None
    require_tls: bool = True


@dataclass(frozen=True)
class PagerDuty:
    """A PagerDuty service (Events API v2); the routing key is read from a file."""

    routing_key_file: str


@dataclass(frozen=True)
class Receiver:
    """A named destination of alerts, with one or more integrations."""

    name: str
    slack: Slack | None = None
    webhook: Webhook | None = None
    email: Email | None = None
    pagerduty: PagerDuty | None = None


def default_runbook_url() -> str:
    """obsgen's runbooks as this version wrote them (``obsgen build`` writes the same document
    to ``docs/runbooks.md``, for a ``runbook_url`` of your own)."""
    from llmobs import __version__

    return f"https://github.com/obsgen/obsgen/blob/v{__version__}/docs/runbooks.md"


#: The kinds of alert that notifications are routed by (``notifications.routes``).
ROUTE_KINDS = ("budget", "slo", "telemetry")


@dataclass(frozen=True)
class Notifications:
    """Where Alertmanager sends alerts: receivers, and which of them get each kind of alert
    (``ROUTE_KINDS``). Alerts of a kind with no
    receiver are only shown in Alertmanager's UI."""

    receivers: tuple[Receiver, ...] = ()
    routes: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Config:
    """The whole validated config."""

    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    #: Where the LLM metrics come from (:data:`METRIC_SOURCES`).
    metrics_source: str = LLMOBS
    topology: Topology = field(default_factory=Topology)
    budgets: Budgets = field(default_factory=Budgets)
    slo: SLO = field(default_factory=SLO)
    team_separator: str = "."
    dashboard: Dashboard = field(default_factory=Dashboard)
    runbook_url: str = field(default_factory=default_runbook_url)
    alert_for: tuple[tuple[str, str], ...] = ()
    notifications: Notifications = field(default_factory=Notifications)
    #: The prometheus-operator objects to render, if the config asks for them.
    kubernetes: Kubernetes | None = None
    #: Attribution tag keys of the user's own, besides the built-in ones.
    attribution_keys: tuple[str, ...] = ()
    #: Tag keys also counted in Prometheus by value.
    labelled_tags: tuple[str, ...] = ()
    prices: Prices = field(default_factory=Prices)
    runs: Runs = field(default_factory=Runs)
    source: str = DEFAULT_CONFIG
    #: The line of every key in the file, for issues found after reading it.
    lines: dict[tuple[str | int, ...], int] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    @property
    def runtime(self) -> RuntimeConfig:
        """What a service's runtime reads of this config (its trackers' budgets)."""
        return RuntimeConfig(
            self.budgets, self.team_separator, self.attribution_keys, self.labelled_tags
        )

    @property
    def source_name(self) -> str:
        """The config file's name, as generated files cite it."""
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]

    def for_duration(self, alert: str, default: str) -> str:
        """The ``for:`` of ``alert``: the config's override, else ``default``."""
        return dict(self.alert_for).get(alert, default)

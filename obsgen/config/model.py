"""The validated, frozen model of ``obsgen.yaml``: every threshold and selector the generator
uses lives here."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmobs.enforcement import GLOBAL_NAME, Scope
from llmobs.periods import Period

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


#: The config's keys of the budget periods, in the order they are listed.
PERIOD_KEYS = (("daily", Period.DAY), ("weekly", Period.WEEK), ("monthly", Period.MONTH))


@dataclass(frozen=True)
class Limit:
    """One budget as the runtime enforces and exports it (``llm_budget_limit_usd``)."""

    scope: Scope
    name: str
    period: Period
    usd: float
    enforce: bool = False


@dataclass(frozen=True)
class ScopedBudget:
    """A team's or an agent's budgets in USD per calendar day, week and month."""

    name: str
    daily: float | None = None
    weekly: float | None = None
    monthly: float | None = None
    enforce: bool = False

    def amounts(self) -> list[tuple[Period, float]]:
        """The periods it limits, with their USD amounts."""
        return [
            (period, amount)
            for key, period in PERIOD_KEYS
            if (amount := getattr(self, key)) is not None
        ]


@dataclass(frozen=True)
class Budgets:
    """Spend budgets in USD per calendar period in ``timezone``, and the percentages at which
    they alert. The runtime reads the same section (``CostTracker.from_config``)."""

    daily: float | None = 100.0
    weekly: float | None = None
    monthly: float | None = None
    warning_percent: float = 80.0
    critical_percent: float = 100.0
    #: LLMSpendAnomaly fires when the last hour's spend rate is this many times the same hour's
    #: a week before (None: no anomaly alert).
    anomaly_factor: float | None = 3.0
    teams: tuple[ScopedBudget, ...] = ()
    agents: tuple[ScopedBudget, ...] = ()
    #: IANA time zone where days, weeks and months begin.
    timezone: str = "UTC"
    #: Refuse calls that would exceed any budget (otherwise only those marked ``enforce``).
    enforce: bool = False

    def limits(self) -> tuple[Limit, ...]:
        """Every budget configured: global, then teams', then agents'."""
        overall = ScopedBudget(GLOBAL_NAME, self.daily, self.weekly, self.monthly, self.enforce)
        scoped = [(Scope.GLOBAL, overall)]
        scoped += [(Scope.TEAM, team) for team in self.teams]
        scoped += [(Scope.AGENT, agent) for agent in self.agents]
        return tuple(
            Limit(scope, budget.name, period, amount, self.enforce or budget.enforce)
            for scope, budget in scoped
            for period, amount in budget.amounts()
        )


@dataclass(frozen=True)
class SLO:
    """Service level objectives, the seed's "Monitor Key Metrics" defaults."""

    success_rate_percent: float = 99.0
    error_rate_percent: float = 1.0
    cache_hit_rate_percent: float = 30.0
    p99_latency_seconds: float = 10.0
    #: p95 of the time to the first token of streamed calls.
    p95_time_to_first_token_seconds: float = 2.5
    #: Alert when less than this share of a provider's rate limit is left.
    rate_limit_headroom_percent: float = 10.0


@dataclass(frozen=True)
class Dashboard:
    """The generated Grafana dashboard's identity."""

    title: str = "LLM Usage"
    uid: str = "llm-usage"
    refresh: str = "30s"


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


@dataclass(frozen=True)
class Notifications:
    """Where Alertmanager sends alerts: receivers, and which of them get each kind of alert
    (budget, slo, telemetry: ``KIND_GROUPS`` of the catalogue). Alerts of a kind with no
    receiver are only shown in Alertmanager's UI."""

    receivers: tuple[Receiver, ...] = ()
    routes: tuple[tuple[str, tuple[str, ...]], ...] = ()


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
    notifications: Notifications = field(default_factory=Notifications)
    source: str = DEFAULT_CONFIG

    @property
    def source_name(self) -> str:
        """The config file's name, as generated files cite it."""
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]

    def for_duration(self, alert: str, default: str) -> str:
        """The ``for:`` of ``alert``: the config's override, else ``default``."""
        return dict(self.alert_for).get(alert, default)

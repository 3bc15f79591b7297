"""The plan: everything the files will say, as plain data (no grafanalib, no Jinja)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obsgen.catalogue.alerts import Scenario, template_text
from obsgen.catalogue.promql import RecordingRule
from obsgen.config.model import PrometheusSettings, Receiver

from .kubernetes import KubernetesPlan
from .servers import Servers

#: A notification's title and text, as Alertmanager templates: the alerts' own annotations.
NOTIFICATION_TITLE = (
    "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}: {{ .CommonAnnotations.summary }}"
)
NOTIFICATION_TEXT = (
    "{{ range .Alerts }}{{ .Annotations.description }}\n"
    "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
)


@dataclass(frozen=True)
class AlertSpec:
    """One alerting rule, with what its promtool scenario needs."""

    name: str
    group: str
    expr: str
    duration: str
    severity: str
    summary: str
    description: str
    runbook: str
    scenario: Scenario
    labels: tuple[tuple[str, str], ...] = ()

    def all_labels(self) -> dict[str, str]:
        return {"severity": self.severity, **dict(self.labels)}

    @property
    def runbook_annotation(self) -> str:
        """The runbook URL as annotation template text (annotations are Go templates)."""
        return template_text(self.runbook)


@dataclass(frozen=True)
class AlertTestFile:
    """The promtool test cases of one file, evaluated every ``interval``: each a mapping as
    promtool reads it (name, interval, input series, alert checks)."""

    interval: str
    cases: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class RecordingGroup:
    """The recording rules, evaluated every ``interval`` in order."""

    name: str
    interval: str
    rules: tuple[RecordingRule, ...]


@dataclass(frozen=True)
class AlertGroup:
    """A group of alerts, evaluated every ``interval``."""

    name: str
    interval: str
    rules: tuple[AlertSpec, ...]


RuleGroup = RecordingGroup | AlertGroup


@dataclass(frozen=True)
class Query:
    """One PromQL target: expression, legend, instant or range, the raw-series expression the
    same target would run without recording rules (for the benchmark), and whether it shows
    exemplars."""

    expr: str
    legend: str = ""
    instant: bool = False
    baseline: str = ""
    #: Grafana asks for the exemplars (trace ids) of the series the expression selects.
    exemplar: bool = False


@dataclass(frozen=True)
class Step:
    """A threshold step: the colour from ``value`` up (None is the base step)."""

    color: str
    value: float | None


@dataclass(frozen=True)
class Grid:
    """A panel's place on the 24-column grid."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: what it shows, where, and how it is drawn."""

    title: str
    kind: str
    unit: str
    description: str
    queries: tuple[Query, ...]
    grid: Grid
    thresholds: tuple[Step, ...] = ()
    decimals: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    stacked: bool = False


@dataclass(frozen=True)
class Variable:
    """A query template variable on a label of the requests metric."""

    name: str
    label: str
    query: str


@dataclass(frozen=True)
class Annotation:
    """A Prometheus annotation query."""

    name: str
    expr: str
    title: str
    text: str
    tags: str
    color: str


@dataclass(frozen=True)
class ExemplarLink:
    """Where Grafana opens the trace of an exemplar: the exemplar label holding the trace id,
    and a trace data source of the same Grafana (its uid) or an outside URL in which
    ``${__value.raw}`` stands for the id."""

    label: str
    datasource_uid: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Dashboard:
    """The dashboard: identity, panels in layout order, variables, annotations."""

    title: str
    uid: str
    refresh: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[Variable, ...]
    annotations: tuple[Annotation, ...]
    #: The label no series has whose matcher switches a query between its rule and raw branch.
    switch_label: str = ""
    #: Where the data source links the exemplars' traces; None: nowhere.
    exemplar_link: ExemplarLink | None = None


@dataclass(frozen=True)
class Route:
    """Alerts (by name) Alertmanager sends to a receiver."""

    receiver: str
    alertnames: tuple[str, ...]


@dataclass(frozen=True)
class Inhibition:
    """While ``source`` fires, ``targets`` with the same ``equal`` labels are not sent."""

    source: str
    targets: tuple[str, ...]
    equal: tuple[str, ...]


@dataclass(frozen=True)
class AlertmanagerPlan:
    """Alertmanager's routing: alerts grouped by ``group_by``, sent along every matching route
    (the ``unrouted`` receiver, which sends nowhere, gets the others), and inhibitions."""

    unrouted: str
    group_by: tuple[str, ...]
    routes: tuple[Route, ...]
    receivers: tuple[Receiver, ...]
    inhibitions: tuple[Inhibition, ...]


@dataclass(frozen=True)
class Plan:
    """Everything ``obsgen build`` writes, derived once from the config."""

    #: The config file's name.
    source: str
    header: str
    recording: RecordingGroup
    alerts: tuple[AlertGroup, ...]
    dashboard: Dashboard
    prometheus: PrometheusSettings
    #: How Prometheus, or the central topology's servers, run.
    servers: Servers
    alertmanager: AlertmanagerPlan
    #: The alerts' promtool cases: evaluated every minute, and over a day or more of history.
    alert_tests: AlertTestFile
    week_alert_tests: AlertTestFile
    #: The runbook document the alerts link to (Markdown).
    runbooks: str
    #: The prometheus-operator objects' settings, if the config asks for them.
    kubernetes: KubernetesPlan | None = None

    def alert_specs(self) -> tuple[AlertSpec, ...]:
        return tuple(rule for group in self.alerts for rule in group.rules)

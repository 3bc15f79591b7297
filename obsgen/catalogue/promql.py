"""Every PromQL expression obsgen writes, built from the llmobs metric schema.

This is the only module that writes PromQL. Selectors only use labels a metric really has;
recording rules are named ``level:metric:operation`` from the labels they keep; the KPIs
(success, error and cache-hit rate, cost, tokens, latency quantiles, team) are written once and
read by the dashboard and the alerts alike.

An :class:`Expr` carries the recording rules it reads, so whoever plans the expressions also
knows which rules to record.

Dashboard reads switch between recording rules. When every template variable a metric has is
at *All* (``.*``), the panel reads a rule aggregated down to the panel's own grouping (a few
series); when one variable alone is chosen, the rule kept by that variable and the grouping,
filtered by it; when two or more are, the rule that keeps ``agent_id``, ``model`` and
``provider``, filtered by them. The switch is matchers on :data:`ALL_SELECTED`, a label no
series carries: a matcher on a missing label compares the empty string, which concatenated
variable regexes (``$agent_id$model$provider``) match only when each is ``.*``. The branches
not taken select no series, so Prometheus reads nothing for them.

Example:
    >>> from llmobs.schema import REQUESTS
    >>> rate(Series(REQUESTS), by=("provider",)).text
    'provider:llm_requests:rate5m'
    >>> rate(requests("success"), by=("provider",)).text
    'sum by (provider) (provider_status:llm_requests:rate5m{status="success"})'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from llmobs.schema import (
    BUDGET_LABELS,
    BUDGET_LIMIT,
    BUDGET_PERIOD_END,
    BUDGET_SPENT,
    REQUEST_DURATION,
    REQUESTS,
    TIME_TO_FIRST_TOKEN,
    TOKENS,
    MetricKind,
    MetricSpec,
    TokenType,
)
from llmobs.teams import team_pattern

#: Grafana template variables, by the label they filter.
DASHBOARD_FILTERS = ("agent_id", "model", "provider")
#: A label no series carries: matching it against the variables tells whether all are at All.
ALL_SELECTED = "__obsgen_all_selected__"
#: The window of the rate rules the dashboard and the SLO alerts read.
RULE_WINDOW = "5m"
RATE_INTERVAL = "$__rate_interval"
DASHBOARD_RANGE = "$__range"
#: The busiest agents are those with the most requests over this window.
TOP_WINDOW = "24h"
#: Evaluates a range selector at the end of a range query at every step (Prometheus >= 2.33).
AT_END = " @ end()"
#: The token types that make up a call's total: prompt tokens include cache reads and writes,
#: so those are parts of prompt and are never added to it.
TOTAL_TOKEN_TYPES = (TokenType.PROMPT.value, TokenType.COMPLETION.value)


def _go_escape(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def string_literal(value: str) -> str:
    """``value`` as a PromQL (and Go) double-quoted string: printable text as it is, every
    other character escaped."""
    quoted = json.dumps(value, ensure_ascii=False)
    if quoted.isprintable():
        return quoted
    return "".join(ch if ch.isprintable() else _go_escape(ch) for ch in quoted)


def number(value: float) -> str:
    """A threshold as PromQL reads it back exactly: ``80`` rather than ``80.0``, never rounded."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


@dataclass(frozen=True)
class RecordingRule:
    """One recording rule: the series it records, the expression, and labels it adds."""

    record: str
    expr: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Expr:
    """A PromQL expression and the recording rules it reads."""

    text: str
    rules: frozenset[RecordingRule] = field(default_factory=frozenset)

    def __str__(self) -> str:
        return self.text

    def then(self, text: str, *others: Expr) -> Expr:
        """A new expression ``text`` that reads this one's rules and ``others``'."""
        rules = self.rules.union(*(other.rules for other in others))
        return Expr(text, rules)


def combine(text: str, *parts: Expr) -> Expr:
    """``text`` built from ``parts``, reading all their rules."""
    return Expr(text, frozenset().union(*(part.rules for part in parts)))


@dataclass(frozen=True)
class Series:
    """A counter's series (or a histogram's ``_bucket``), optionally narrowed by matchers.

    ``matchers`` are ``(label, operator, value)``; the labels they name are kept by any rule
    recorded from the series, so one rule serves every narrowing.
    """

    spec: MetricSpec
    suffix: str = ""
    matchers: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.suffix and (
            self.spec.kind is not MetricKind.HISTOGRAM
            or self.suffix not in ("_bucket", "_sum", "_count")
        ):
            raise ValueError(f"{self.spec.name} has no {self.suffix} series")
        for label, _op, _value in self.matchers:
            if label not in self.labels:
                raise ValueError(f"{self.spec.name} has no label {label!r}")

    @property
    def name(self) -> str:
        return self.spec.name + self.suffix

    @property
    def labels(self) -> tuple[str, ...]:
        return self.spec.labels + (("le",) if self.suffix == "_bucket" else ())

    @property
    def kept(self) -> tuple[str, ...]:
        """Labels a rule must keep: those the matchers read, and a bucket's ``le``."""
        named = [label for label, _, _ in self.matchers]
        return tuple(dict.fromkeys([*named, *(["le"] if self.suffix == "_bucket" else [])]))

    @property
    def filters(self) -> tuple[str, ...]:
        """The dashboard variables that apply to this series."""
        return tuple(label for label in DASHBOARD_FILTERS if label in self.spec.labels)


def _matcher_text(label: str, op: str, value: str) -> str:
    return f"{label}{op}{string_literal(value)}"


def selector(name: str, matchers: Iterable[tuple[str, str, str]] = ()) -> str:
    """``name{label op "value", ...}``, or the bare name without matchers."""
    body = ",".join(_matcher_text(*m) for m in matchers)
    return f"{name}{{{body}}}" if body else name


def variable_matchers(labels: Iterable[str]) -> list[tuple[str, str, str]]:
    """``label=~"$label"`` for each dashboard variable."""
    return [(label, "=~", f"${label}") for label in labels]


def _labels(labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(labels)))


def _by(labels: Iterable[str]) -> str:
    listed = tuple(labels)
    return f" by ({', '.join(listed)})" if listed else ""


def aggregate(function: str, expr: str, by: Iterable[str] = ()) -> str:
    """``function by (labels) (expr)``."""
    return f"{function}{_by(by)} ({expr})"


def rule_name(level: Iterable[str], series: str, operation: str) -> str:
    """``level:metric:operation``: the labels kept, the metric without ``_total``, the operation."""
    metric = series[: -len("_total")] if series.endswith("_total") else series
    return f"{'_'.join(sorted(level))}:{metric}:{operation}"


def window_rule(function: str, series: Series, window: str, level: Iterable[str]) -> RecordingRule:
    """``sum by (level) (function(series[window]))`` recorded under its conventional name."""
    kept = _labels([*level, *series.kept])
    for label in kept:
        if label not in series.labels:
            raise ValueError(f"{series.name} has no label {label!r} to aggregate by")
    expr = aggregate("sum", f"{function}({series.name}[{window}])", kept)
    return RecordingRule(rule_name(kept, series.name, f"{function}{window}"), expr)


def raw_increase(series: Series, window: str, by: Iterable[str] = ()) -> Expr:
    """``sum by (by) (increase(series[window]))`` on the raw series, no rule."""
    inner = f"increase({selector(series.name, series.matchers)}[{window}])"
    return Expr(aggregate("sum", inner, by))


def recorded(
    function: str, series: Series, window: str, by: Iterable[str] = (), **where: str
) -> Expr:
    """The recorded ``function`` over ``window`` of ``series``, summed by ``by``; ``where``
    pins labels to values (``team="x"``), which the rule then keeps."""
    by = (*by, *where)
    rule = window_rule(function, series, window, by)
    matchers = [*series.matchers, *((label, "=", value) for label, value in where.items())]
    read = selector(rule.record, matchers)
    if series.matchers:  # the rule keeps the matched labels: sum them away
        read = aggregate("sum", read, by)
    return Expr(read, frozenset({rule}))


def rate(series: Series, by: Iterable[str] = ()) -> Expr:
    """Per-second rate over :data:`RULE_WINDOW`, from its recording rule."""
    return recorded("rate", series, RULE_WINDOW, by)


# -- dashboard reads --------------------------------------------------------------------------


def _switched(series: Series, by: tuple[str, ...], read: str, function: str, window: str) -> Expr:
    """``read`` (a format with ``{}`` for a rule selector) over the cheapest rule that still
    honours the dashboard variables (see the module docstring)."""
    filters = series.filters
    fine = window_rule(function, series, window, [*filters, *by])
    filtered = [*series.matchers, *variable_matchers(filters)]
    if set(filters) <= set(by):
        text = aggregate("sum", read.format(selector(fine.record, filtered)), by)
        return Expr(text, frozenset({fine}))
    coarse = window_rule(function, series, window, by)
    singles = {f: window_rule(function, series, window, [f, *by]) for f in filters}
    records = {f: rule.record for f, rule in singles.items()}
    text = _either(coarse.record, fine.record, series.matchers, filters, read, by, records)
    return Expr(text, frozenset({coarse, fine, *singles.values()}))


def _others(label: str, filters: tuple[str, ...]) -> str:
    """The variables of ``filters`` but ``label``, concatenated: the empty string matches it
    only when each of them is at All."""
    return "".join(f"${other}" for other in filters if other != label)


def _not_all(variables: str) -> tuple[str, str, str]:
    """A matcher true unless every one of ``variables`` (concatenated) is at All. The trailing
    ``.*`` changes no match, but keeps the regex from being ``.*`` alone: VictoriaMetrics reads
    ``!~".*"`` as true of every series, and the branch not taken would add them to the answer."""
    return (ALL_SELECTED, "!~", f"{variables}.*")


def _chosen_alone(label: str, filters: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Matchers true when ``label`` is the only one of ``filters`` not at All."""
    return [(ALL_SELECTED, "=~", _others(label, filters)), _not_all(f"${label}")]


def _either(
    coarse: str,
    fine: str,
    matchers: Iterable[tuple[str, str, str]],
    filters: Iterable[str],
    read: str,
    by: Iterable[str],
    singles: dict[str, str],
) -> str:
    """``read`` of ``coarse`` when every variable in ``filters`` is at All; of ``singles[f]``
    (kept by ``f`` and ``by``) filtered by ``f`` when ``f`` alone is chosen; else of ``fine``
    filtered by them all (with one variable, no such case). The cases exclude each other, so one
    branch answers."""
    filters, matchers = tuple(filters), tuple(matchers)
    switch = "".join(f"${label}" for label in filters)
    branches = [selector(coarse, [*matchers, (ALL_SELECTED, "=~", switch)])]
    for label in filters:
        alone = _chosen_alone(label, filters)
        branches.append(selector(singles[label], [*matchers, *variable_matchers([label]), *alone]))
    if len(filters) > 1:  # two or more chosen: for every variable, another one is chosen
        several = [_not_all(_others(f, filters)) for f in filters]
        branches.append(selector(fine, [*matchers, *variable_matchers(filters), *several]))
    reads = (aggregate("sum", read.format(branch), by) for branch in branches)
    return "(" + "\nor\n".join(reads) + ")"


def top_rule(
    source: RecordingRule, label: str, count: int, within: str | None = None
) -> tuple[RecordingRule, RecordingRule]:
    """``source`` kept only for the ``count`` values of ``label`` with the most requests over
    :data:`TOP_WINDOW` (with ``within``, the ``count`` busiest of each value of that label,
    which ``source`` must keep), and the request-rate rule that ranks them."""
    kept = (label, within) if within else (label,)
    ranking = window_rule("rate", requests(), RULE_WINDOW, kept)
    level, metric, operation = source.record.split(":")
    top = f"topk by ({within}) " if within else "topk"
    expr = (
        f"{source.record}\nand on ({', '.join(kept)})\n"
        f"{top}({count}, sum_over_time({ranking.record}[{TOP_WINDOW}]))"
    )
    suffix = f"_top{count}" + (f"_per_{within}" if within else "")
    return RecordingRule(f"{level}:{metric}:{operation}{suffix}", expr), ranking


def _busiest_singles(
    label: str, filters: tuple[str, ...], count: int, source: Callable[[str], RecordingRule]
) -> tuple[dict[str, str], set[RecordingRule]]:
    """The rule each variable chosen alone reads in a panel of the busiest values of
    ``label``: the values chosen when ``label`` is, else the ``count`` busiest of each value
    of that variable (``source(variable)`` keeps both labels); and every rule they read."""
    records: dict[str, str] = {}
    rules: set[RecordingRule] = set()
    for variable in filters:
        rule = source(variable)
        rules.add(rule)
        if variable != label:
            top, ranking = top_rule(rule, label, count, variable)
            rules |= {top, ranking}
            rule = top
        records[variable] = rule.record
    return records, rules


def gauge_rule(spec: MetricSpec, by: Iterable[str]) -> RecordingRule:
    """A gauge summed by ``by``, recorded."""
    return RecordingRule(rule_name(by, spec.name, "sum"), aggregate("sum", spec.name, by))


class RuleReader:
    """Dashboard reads from recording rules (rules evaluated every ``interval_seconds``)."""

    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds

    def rate(self, series: Series, by: Iterable[str] = ()) -> Expr:
        """Per-second rate for a time series panel."""
        return _switched(series, tuple(by), "{}", "rate", RULE_WINDOW)

    def total(self, series: Series, by: Iterable[str] = ()) -> Expr:
        """Increase over the dashboard's time range: the recorded rate integrated over it."""
        read = f"sum_over_time({{}}[{DASHBOARD_RANGE}]) * {number(self.interval_seconds)}"
        return _switched(series, tuple(by), read, "rate", RULE_WINDOW)

    def window(self, series: Series, window: str, by: Iterable[str] = ()) -> Expr:
        """Increase over a fixed ``window`` (``24h``), now."""
        return _switched(series, tuple(by), "{}", "increase", window)

    def busiest_rate(self, series: Series, label: str, count: int) -> Expr:
        """Per-second rate by ``label``: at All only for the ``count`` busiest values (a
        recorded top list), with another variable chosen alone the ``count`` busiest of its
        value, else for every chosen value."""
        by = (label,)
        coarse = window_rule("rate", series, RULE_WINDOW, by)
        fine = window_rule("rate", series, RULE_WINDOW, [*series.filters, *by])
        top, ranking = top_rule(coarse, label, count)
        records, singles = _busiest_singles(
            label,
            series.filters,
            count,
            lambda variable: window_rule("rate", series, RULE_WINDOW, [variable, *by]),
        )
        text = _either(top.record, fine.record, series.matchers, series.filters, "{}", by, records)
        return Expr(text, frozenset({coarse, fine, top, ranking, *singles}))

    def budget_used(self) -> Expr:
        """The share of each budget its period has spent."""
        return budget_used()

    def lowest(self, spec: MetricSpec) -> Expr:
        """A gauge's lowest value across replicas, by its labels."""
        return lowest(spec)

    def once(self, spec: MetricSpec, **where: str) -> Expr:
        """A gauge every replica exports alike (read from the shared cost store), once: the
        ``max`` across replicas by its labels; ``where`` pins labels to values."""
        return across_replicas(spec, "max", **where)

    def slo_burn(self, sli: str, seconds: float | None, budget: float, window: str) -> Expr:
        """How fast an SLI spends its error budget over ``window`` (1: as fast as it lasts)."""
        return burn_rate(slo_error_ratio(sli, seconds, window), budget)

    def slo_remaining(self, sli: str, seconds: float | None, budget: float, window: str) -> Expr:
        """The share of an SLI's error budget over ``window`` that is left."""
        return budget_remaining(sli, seconds, budget, window)

    def busiest_gauge(self, spec: MetricSpec, by: tuple[str, ...], count: int) -> Expr:
        """A gauge summed by ``by``: at All only for the ``count`` busiest agents (a recorded
        top list), with another variable chosen alone the ``count`` busiest of its value, else
        for every chosen agent."""
        source = gauge_rule(spec, by)
        top, ranking = top_rule(source, "agent_id", count)
        filters = Series(spec).filters
        records, singles = _busiest_singles(
            "agent_id", filters, count, lambda variable: gauge_rule(spec, _labels([variable, *by]))
        )
        text = _either(top.record, spec.name, (), filters, "{}", by, records)
        return Expr(text, frozenset({source, top, ranking, *singles}))


class RawReader:
    """The same reads straight from the raw series, as a dashboard without rules would make
    them: the baseline the plan's queries are measured against."""

    def _read(
        self, function: str, series: Series, window: str, by: Iterable[str], at: str = ""
    ) -> Expr:
        matchers = [*series.matchers, *variable_matchers(series.filters)]
        return Expr(
            aggregate("sum", f"{function}({selector(series.name, matchers)}[{window}]{at})", by)
        )

    def rate(self, series: Series, by: Iterable[str] = ()) -> Expr:
        return self._read("rate", series, RATE_INTERVAL, by)

    def total(self, series: Series, by: Iterable[str] = ()) -> Expr:
        return self._read("increase", series, DASHBOARD_RANGE, by)

    def window(self, series: Series, window: str, by: Iterable[str] = ()) -> Expr:
        return self._read("increase", series, window, by)

    def busiest_rate(self, series: Series, label: str, count: int) -> Expr:
        return busiest(self.rate(series, (label,)), label, self._ranking(label), count)

    def busiest_gauge(self, spec: MetricSpec, by: tuple[str, ...], count: int) -> Expr:
        return busiest(gauge(spec, by), "agent_id", self._ranking("agent_id"), count)

    def lowest(self, spec: MetricSpec) -> Expr:
        return Expr(aggregate("min", spec.name, spec.labels))

    def once(self, spec: MetricSpec, **where: str) -> Expr:
        pinned = selector(spec.name, [(k, "=", v) for k, v in where.items()])
        return Expr(aggregate("max", pinned, spec.labels))

    def budget_used(self) -> Expr:
        once = [
            Expr(aggregate("max", spec.name, spec.labels)) for spec in (BUDGET_SPENT, BUDGET_LIMIT)
        ]
        return ratio(*once)

    def _ranking(self, label: str) -> Expr:
        return self._read("increase", requests(), DASHBOARD_RANGE, (label,), AT_END)

    def slo_burn(self, sli: str, seconds: float | None, budget: float, window: str) -> Expr:
        return Expr(f"({raw_sli_ratio(sli, seconds, 'rate', window)}) / {number(budget)}")

    def slo_remaining(self, sli: str, seconds: float | None, budget: float, window: str) -> Expr:
        spent = raw_sli_ratio(sli, seconds, "increase", window)
        return Expr(f"1 - ({spent}) / {number(budget)}")


Reader = RuleReader | RawReader


def gauge(spec: MetricSpec, by: Iterable[str] = ()) -> Expr:
    """A gauge's current value summed by ``by``, filtered by the dashboard variables."""
    series = Series(spec)
    return Expr(aggregate("sum", selector(spec.name, variable_matchers(series.filters)), by))


# -- KPIs: one definition each, read by panels and alerts ---------------------------------------


def ratio(numerator: Expr, denominator: Expr) -> Expr:
    """``numerator / denominator``; empty (not 0 or NaN) where the denominator is 0."""
    return combine(f"({numerator})\n/\n({denominator} > 0)", numerator, denominator)


def share(part: Expr, whole: Expr) -> Expr:
    """The share ``part`` is of ``whole``: 0, not empty, where ``part`` has no series but
    ``whole`` has (no errors yet is an error rate of 0)."""
    return ratio(combine(f"({part}\nor\n{whole} * 0)", part, whole), whole)


def hit_ratio(hits: Expr, misses: Expr) -> Expr:
    """The share of cache lookups that hit."""
    return ratio(hits, combine(f"{hits} + {misses}", hits, misses))


def requests(status: str | None = None) -> Series:
    """Completed requests, optionally of one status."""
    return Series(REQUESTS, matchers=(("status", "=", status),) if status else ())


def tokens() -> Series:
    """Tokens a call used: prompt plus completion (cache tokens are inside prompt)."""
    return Series(TOKENS, matchers=(("token_type", "=~", "|".join(TOTAL_TOKEN_TYPES)),))


def tokens_of(token_type: TokenType) -> Series:
    """Tokens of one type (reasoning tokens are part of completion tokens, as cache tokens are
    of prompt tokens)."""
    return Series(TOKENS, matchers=(("token_type", "=", token_type.value),))


def per_second(seconds_each: Expr) -> Expr:
    """How many a second, from the seconds each takes (empty where that is 0)."""
    return seconds_each.then(f"1 / ({seconds_each} > 0)")


def variable_label(label: str) -> str:
    """The label that holds a dashboard variable's values in its values rule: a name no other
    series carries, so that listing its values (``/api/v1/label/<name>/values``, which asks
    which series have the label) reads a few postings rather than the fleet's."""
    return f"dashboard_{label}"


def label_values(label: str) -> Expr:
    """Grafana's query for the values of a dashboard variable: a rule of one series per value,
    under :func:`variable_label`, from the request-rate rule kept by that label alone. Both
    the label-values and the series endpoint then read a few series."""
    ranking = window_rule("rate", requests(), RULE_WINDOW, (label,))
    values = variable_label(label)
    relabelled = (
        f'label_replace({ranking.record}, "{values}", "$1", {string_literal(label)}, "(.*)")'
    )
    rule = RecordingRule(
        rule_name((values,), REQUESTS.name, "values"), aggregate("group", relabelled, (values,))
    )
    return Expr(f"label_values({rule.record}, {values})", frozenset({rule, ranking}))


def busiest(expr: Expr, label: str, ranking: Expr, count: int) -> Expr:
    """``expr`` only for the ``count`` values of ``label`` that rank highest in ``ranking``."""
    text = f"{expr}\nand on ({label})\ntopk({count}, {ranking})"
    return combine(text, expr, ranking)


def quantile(q: float, buckets: Expr) -> Expr:
    """The ``q`` quantile of a histogram from its bucket rates summed by ``le``."""
    return buckets.then(f"histogram_quantile({q:g}, {buckets})")


def runs_above(spec: MetricSpec, bound: float, window: str) -> Expr:
    """By agent, how many observations of histogram ``spec`` (one per agent run) over
    ``window`` were above ``bound``, a bucket bound: all of them less those in its bucket."""
    within = selector(f"{spec.name}_bucket", [("le", "=", bucket_label(bound))])
    every = raw_increase(Series(spec, "_count"), window, ("agent_id",))
    inside = aggregate("sum", f"increase({within}[{window}])", ("agent_id",))
    return Expr(f"{every}\n-\n{inside}")


def exemplar_probe(series: Series) -> Expr:
    """The raw ``series`` the dashboard variables select, evaluated at the epoch: the query
    reads no sample and draws nothing, while Grafana's exemplar query of the same expression
    (Prometheus' exemplar API reads its selectors over the panel's range) returns the trace ids
    the series carry. Recording rules keep no exemplars; this keeps the rules' cheap reads."""
    matchers = [*series.matchers, *variable_matchers(series.filters)]
    return Expr(f"{selector(series.name, matchers)} @ 0")


def with_team(expr: Expr, separator: str) -> Expr:
    """``expr`` with a ``team`` label derived from its ``agent_id`` label, as llmobs derives
    it (``llmobs.teams``)."""
    pattern, replacement = team_pattern(separator)
    return expr.then(
        f'label_replace({expr}, "team", {string_literal(replacement)}, "agent_id", '
        f"{string_literal(pattern)})"
    )


def across_replicas(spec: MetricSpec, function: str, **where: str) -> Expr:
    """A gauge reduced over the replicas that export it with ``function`` (``min``, ``max``)
    by every label it has, recorded; ``where`` pins labels to values."""
    expr = aggregate(function, spec.name, spec.labels)
    rule = RecordingRule(rule_name(spec.labels, spec.name, function), expr)
    return Expr(selector(rule.record, [(k, "=", v) for k, v in where.items()]), frozenset({rule}))


def lowest(spec: MetricSpec) -> Expr:
    """A gauge's lowest value across replicas, by every label it has (recorded)."""
    return across_replicas(spec, "min")


# -- budgets: gauges every replica exports alike -----------------------------------------------


def budget_gauge(spec: MetricSpec, **where: str) -> Expr:
    """A budget gauge once per budget however many replicas export it: the ``max`` by its
    labels (each replica reads the same store; a sum would count it once per replica)."""
    return across_replicas(spec, "max", **where)


def budget_used() -> Expr:
    """The share of each budget that its calendar period has spent."""
    spent, limit = budget_gauge(BUDGET_SPENT), budget_gauge(BUDGET_LIMIT)
    used = ratio(spent, limit)
    rule = RecordingRule(rule_name(BUDGET_LABELS, "llm_budget_used", "ratio"), used.text)
    return Expr(rule.record, used.rules | {rule})


def budget_forecast(windows: Iterable[tuple[str, str]]) -> Expr:
    """Each budget's spend at the end of its period, at the burn rate of the last ``window``
    of its ``period`` (``windows`` pairs them). The spent gauge only rises within a period and
    drops when the next begins, which ``rate`` reads as a counter reset."""
    spent, ends = budget_gauge(BUDGET_SPENT), budget_gauge(BUDGET_PERIOD_END)
    branches = [
        f"({spent} + rate({budget_gauge(BUDGET_SPENT, period=period)}[{window}]) * "
        f"({ends} - time()))"
        for period, window in windows
    ]
    return combine("(\n  " + "\n  or\n  ".join(branches) + "\n)", spent, ends)


def budget_absent(selectors: Iterable[dict[str, str]]) -> Expr:
    """Any of the budgets ``selectors`` name (by their labels) that no replica exports."""
    reads = [f"absent({selector(BUDGET_LIMIT.name, _pinned(labels))})" for labels in selectors]
    return Expr("\nor\n".join(reads))


def budget_limit_differs(limits: Iterable[tuple[dict[str, str], float]]) -> Expr:
    """Each replica's exported limit of a budget that is not the given one."""
    reads = [
        f"{selector(BUDGET_LIMIT.name, _pinned(labels))} != {number(usd)}" for labels, usd in limits
    ]
    return Expr("\nor\n".join(reads))


def _pinned(labels: dict[str, str]) -> list[tuple[str, str, str]]:
    return [(label, "=", labels[label]) for label in BUDGET_LABELS]


def scrape_up(job: str) -> str:
    """The scrape targets of ``job`` that answer."""
    return f"up{{job={string_literal(job)}}} == 1"


def scrape_down(job: str) -> Expr:
    """The scrape targets of ``job`` that do not answer."""
    return Expr(f"up{{job={string_literal(job)}}} == 0")


def absent(name: str, matchers: Iterable[tuple[str, str, str]] = ()) -> Expr:
    """1 (labelled by the equality matchers) when no series of ``name`` matches."""
    return Expr(f"absent({selector(name, matchers)})")


def label_replace(expr: str, target: str, replacement: str, source: str, regex: str) -> str:
    """``expr`` with label ``target`` set to ``replacement`` where ``source`` matches ``regex``
    (whole value; ``$1`` is its first group), else unchanged."""
    quoted = ", ".join(string_literal(part) for part in (target, replacement, source, regex))
    return f"label_replace({expr}, {quoted})"


def union(*exprs: str) -> str:
    """Every series of ``exprs`` (``or``): theirs must differ in labels to all be kept."""
    return "(" + " or ".join(exprs) + ")"


def age_of_oldest(spec: MetricSpec) -> Expr:
    """Seconds since the oldest time a replica exports in ``spec`` (a timestamp gauge); a
    replica that has set none (0) is left out."""
    return Expr(f"time() - min({spec.name} != 0)")


def while_scraped(expr: Expr, job: str) -> Expr:
    """``expr`` only while some target of ``job`` answers (else another alert says so)."""
    return expr.then(f"(\n{expr}\n)\nand on ()\n{scrape_up(job)}")


def forecast_over_limit(forecast: Expr, spent: Expr, limit: Expr) -> Expr:
    """Budgets whose ``forecast`` passes their ``limit`` while not yet ``spent`` past it."""
    return combine(f"{forecast}\n> {limit}\nand\n{spent} <= {limit}", forecast, spent, limit)


def hourly_rate_jump(series: Series, factor: float, floor: float) -> Expr:
    """The last hour's rate of ``series`` per hour, where it is over ``factor`` times the same
    hour's a week before and over ``floor`` (below which no jump is worth an alert)."""
    burn = recorded("rate", series, "1h")
    hourly = f"{burn} * 3600"
    return burn.then(
        f"{hourly}\n> {number(factor)} * ({burn} offset 1w) * 3600\nand\n{hourly} > {number(floor)}"
    )


def new_versions(spec: MetricSpec) -> str:
    """The ``version`` values of ``spec`` (a build-info gauge) that appeared in the last five
    minutes: a deployment."""
    build = selector(spec.name)
    return f"max by (version) ({build}) unless max by (version) ({build} offset 5m)"


def firing(alertnames: Iterable[str]) -> str:
    """The firing alerts named ``alertnames`` (Prometheus' ``ALERTS`` series)."""
    names = string_literal("|".join(alertnames))
    return f'ALERTS{{alertname=~{names}, alertstate="firing"}}'


def compare(expr: Expr, op: str, threshold: float) -> Expr:
    """``expr op threshold`` on a new line, the threshold written exactly."""
    return expr.then(f"{expr}\n{op} {number(threshold)}")


# -- service level objectives ------------------------------------------------------------------
# Each SLI counts events and the bad ones among them: requests that failed; answered requests,
# or first tokens, slower than a bucket bound of their histogram. Their 5-minute rates are
# recorded once per SLI (labelled ``sli``), and every longer window integrates those two series,
# so a three-day window reads one series rather than every raw one.

#: The histogram of each latency SLI.
LATENCY_SLIS = {"latency": REQUEST_DURATION, "time_to_first_token": TIME_TO_FIRST_TOKEN}
SLO_EVENTS = "llm_slo_requests"
SLO_ERRORS = "llm_slo_errors"


def bucket_label(seconds: float) -> str:
    """A bucket bound as the ``le`` label the client exposes (``10.0``, ``2.5``)."""
    return repr(float(seconds))


def _sli_sums(sli: str, seconds: float | None, function: str, window: str) -> tuple[str, str]:
    """The sums of an SLI's events and of its bad events: ``function`` (``rate``,
    ``increase``) over ``window`` of the raw series."""
    if sli in LATENCY_SLIS:
        spec = LATENCY_SLIS[sli]
        assert seconds is not None
        events = f"sum({function}({spec.name}_count[{window}]))"
        good = selector(f"{spec.name}_bucket", [("le", "=", bucket_label(seconds))])
        return events, f"{events}\n-\nsum({function}({good}[{window}]))"
    failed = selector(REQUESTS.name, [("status", "=", "error")])
    return f"sum({function}({REQUESTS.name}[{window}]))", f"sum({function}({failed}[{window}]))"


def _sli_rates(sli: str, seconds: float | None) -> tuple[RecordingRule, RecordingRule]:
    """The 5-minute rate rules of an SLI's events and of its bad events."""
    events, bad = _sli_sums(sli, seconds, "rate", RULE_WINDOW)
    operation, labels = f"rate{RULE_WINDOW}", (("sli", sli),)
    return (
        RecordingRule(rule_name(["sli"], SLO_EVENTS, operation), events, labels),
        RecordingRule(rule_name(["sli"], SLO_ERRORS, operation), bad, labels),
    )


def raw_sli_ratio(sli: str, seconds: float | None, function: str, window: str) -> str:
    """The share of an SLI's events that were bad over ``window``, from the raw series."""
    events, bad = _sli_sums(sli, seconds, function, window)
    return f"({bad})\n/\n({events})"


def _of_sli(rule: RecordingRule, sli: str) -> str:
    return selector(rule.record, [("sli", "=", sli)])


def slo_error_ratio(sli: str, seconds: float | None, window: str) -> Expr:
    """The share of an SLI's events that were bad over ``window``, from its recorded rates."""
    events, bad = _sli_rates(sli, seconds)
    if window == RULE_WINDOW:
        text = f"{_of_sli(bad, sli)}\n/\n{_of_sli(events, sli)}"
    else:
        text = (
            f"sum_over_time({_of_sli(bad, sli)}[{window}])\n/\n"
            f"sum_over_time({_of_sli(events, sli)}[{window}])"
        )
    rule = RecordingRule(
        rule_name(["sli"], SLO_ERRORS, f"ratio_rate{window}"), text, (("sli", sli),)
    )
    return Expr(_of_sli(rule, sli), frozenset({events, bad, rule}))


def slo_event_rate(sli: str, seconds: float | None, window: str) -> Expr:
    """An SLI's events per second, averaged over ``window``."""
    events, _ = _sli_rates(sli, seconds)
    return Expr(f"avg_over_time({_of_sli(events, sli)}[{window}])", frozenset({events}))


def burn_rate(error_ratio: Expr, budget: float) -> Expr:
    """How many times faster than the budget allows the errors of ``error_ratio`` come."""
    return error_ratio.then(f"{error_ratio} / {number(budget)}")


def burning(
    sli: str, seconds: float | None, budget: float, windows: tuple[str, str], factor: float,
    min_rate: float,
) -> Expr:  # fmt: skip
    """Both ``windows`` (long, short) burn the budget faster than ``factor``, and the long one
    saw at least ``min_rate`` events a second (below it, one bad event would be enough)."""
    long, short = (burn_rate(slo_error_ratio(sli, seconds, w), budget) for w in windows)
    traffic = slo_event_rate(sli, seconds, windows[0])
    text = (
        f"{long} > {number(factor)}\nand\n{short} > {number(factor)}\n"
        f"and\n{traffic} >= {number(min_rate)}"
    )
    return combine(text, long, short, traffic)


def budget_remaining(sli: str, seconds: float | None, budget: float, window: str) -> Expr:
    """The share of an SLI's error budget over ``window`` that is left (below 0: overspent)."""
    events, bad = _sli_rates(sli, seconds)
    spent = (
        f"sum_over_time({_of_sli(bad, sli)}[{window}])\n/\n"
        f"sum_over_time({_of_sli(events, sli)}[{window}])"
    )
    return Expr(f"1 - ({spent}) / {number(budget)}", frozenset({events, bad}))

"""Reading ``obsgen.yaml`` into the model: unknown keys, wrong types and impossible values are
reported one line each with the file, line and key path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmobs import otel
from llmobs.configfile import Document, read_document, read_runtime, read_top
from llmobs.schema import (
    DURATION_BUCKETS,
    FIRST_TOKEN_BUCKETS,
    RUN_COST_BUCKETS,
    RUN_COUNT_BUCKETS,
)

from . import keys
from . import validation as check
from .kubernetes import kubernetes
from .model import (
    DEFAULT_CONFIG,
    DEFAULT_OBJECTIVES,
    LLMOBS,
    METRIC_SOURCES,
    OTEL_GENAI,
    REMOTE_WRITE_PATH,
    SCRAPERS,
    SLO,
    TLS,
    TOPOLOGIES,
    BasicAuth,
    Config,
    Dashboard,
    Objective,
    Prices,
    PrometheusSettings,
    RemoteWrite,
    Runs,
    Scrape,
    Store,
    Topology,
    TraceLink,
    default_runbook_url,
)
from .notifications import notifications
from .validation import ConfigError, Reader


def _basic_auth(r: Reader, data: Any, path: tuple) -> BasicAuth | None:
    if data is None:
        return None
    section = r.mapping(data, path, keys.BASIC_AUTH)
    username = r.value(section, path, "username", check.text)
    password_file = r.value(section, path, "password_file", check.text)
    return BasicAuth(username or "", password_file or "")


def _tls(r: Reader, data: Any, path: tuple) -> TLS | None:
    if data is None:
        return None
    section = r.mapping(data, path, keys.TLS)
    tls = TLS(
        ca_file=r.value(section, path, "ca_file", check.text, None),
        cert_file=r.value(section, path, "cert_file", check.text, None),
        key_file=r.value(section, path, "key_file", check.text, None),
        server_name=r.value(section, path, "server_name", check.text, None),
        insecure_skip_verify=r.value(section, path, "insecure_skip_verify", check.boolean, False),
    )
    r.together(path, cert_file=tls.cert_file, key_file=tls.key_file)
    return tls


def _list(r: Reader, data: dict, path: tuple, key: str, item_check, default: tuple) -> tuple:
    default = r.default((*path, key), default)
    if key not in data or data[key] is None:
        return default
    items = data[key]
    if not isinstance(items, list) or not items:
        r.fail((*path, key), f"must be a non-empty list, got {check.describe(items)}")
        return default
    checked = []
    for index, item in enumerate(items):
        try:
            checked.append(item_check(item))
        except ValueError as exc:
            r.fail((*path, key, index), str(exc))
    return tuple(checked)


def _scrape(r: Reader, data: Any, path: tuple) -> Scrape:
    section = r.mapping(data, path, keys.SCRAPE)
    default = Scrape()
    scrape = Scrape(
        job_name=r.value(section, path, "job_name", check.identifier, default.job_name),
        targets=_list(r, section, path, "targets", check.host_port, default.targets),
        metrics_path=r.value(
            section, path, "metrics_path", check.metrics_path, default.metrics_path
        ),
        scheme=r.value(section, path, "scheme", check.one_of("http", "https"), default.scheme),
        interval=r.value(section, path, "interval", check.interval, default.interval),
        timeout=r.value(section, path, "timeout", check.interval, default.timeout),
        tls=_tls(r, section.get("tls"), (*path, "tls")),
        basic_auth=_basic_auth(r, section.get("basic_auth"), (*path, "basic_auth")),
    )
    if check.duration_seconds(scrape.timeout) > check.duration_seconds(scrape.interval):
        r.fail((*path, "timeout"), f"must not be longer than interval ({scrape.interval})")
    return scrape


_remote_write_url = check.secret_free_url("use basic_auth with password_file, or bearer_token_file")
_store_url = check.secret_free_url(
    "reach the store through a proxy that adds them (such as vmauth)"
)


def _remote_write(r: Reader, data: Any, path: tuple) -> tuple[RemoteWrite, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        r.fail(path, f"must be a list, got {check.describe(data)}")
        return ()
    targets = []
    for index, item in enumerate(data):
        where = (*path, index)
        section = r.mapping(item, where, keys.REMOTE_WRITE)
        target = RemoteWrite(
            url=r.value(section, where, "url", _remote_write_url) or "",
            basic_auth=_basic_auth(r, section.get("basic_auth"), (*where, "basic_auth")),
            bearer_token_file=r.value(section, where, "bearer_token_file", check.text, None),
        )
        if target.basic_auth is not None and target.bearer_token_file is not None:
            r.fail(where, "basic_auth and bearer_token_file cannot both be set")
        targets.append(target)
    return tuple(targets)


def _prometheus(r: Reader, data: Any, path: tuple) -> PrometheusSettings:
    section = r.mapping(data, path, keys.PROMETHEUS)
    default = PrometheusSettings()
    return PrometheusSettings(
        evaluation_interval=r.value(
            section, path, "evaluation_interval", check.interval, default.evaluation_interval
        ),
        scrape=_scrape(r, section.get("scrape"), (*path, "scrape")),
        alertmanagers=_list(
            r, section, path, "alertmanagers", check.host_port, default.alertmanagers
        ),
        remote_write=_remote_write(r, section.get("remote_write"), (*path, "remote_write")),
    )


def _store(r: Reader, data: Any, path: tuple) -> Store:
    section = r.mapping(data, path, keys.STORE)
    default = Store()
    store = Store(
        query_url=r.value(section, path, "query_url", _store_url, default.query_url),
        write_url=r.value(section, path, "write_url", _store_url, None),
    )
    if store.write_url is not None and not store.write_url.endswith(REMOTE_WRITE_PATH):
        r.fail(
            (*path, "write_url"),
            f"must end with {REMOTE_WRITE_PATH} (VictoriaMetrics' write API, where vmalert "
            f"writes the rules' results too), got {check.describe(store.write_url)}",
        )
    return store


def _topology(r: Reader, data: Any, path: tuple) -> Topology:
    section = r.mapping(data, path, keys.TOPOLOGY)
    default = Topology()
    return Topology(
        kind=r.value(section, path, "kind", check.one_of(*TOPOLOGIES), default.kind),
        scraper=r.value(section, path, "scraper", check.one_of(*SCRAPERS), default.scraper),
        scrapers=r.value(
            section, path, "scrapers", check.count_between(1, 10, "scrapers"), default.scrapers
        ),
        store=_store(r, section.get("store"), (*path, "store")),
    )


def _objective_within(buckets: tuple[float, ...], what: str) -> Callable[[Any], float]:
    """A latency objective strictly inside the histogram's buckets, where it can be told apart."""

    def check_objective(value: Any) -> float:
        seconds = check.positive(value)
        lowest, highest = buckets[0], buckets[-2]
        if not lowest < seconds < highest:
            raise ValueError(
                f"must be between {lowest:g} and {highest:g} seconds, where the {what} histogram "
                f"can tell it apart, got {check.describe(value)}"
            )
        return seconds

    return check_objective


#: The bucket bounds of each latency SLI's histogram, by metric source: the llmobs runtime's,
#: or the OpenTelemetry conventions' advisory bounds (duration and time to first chunk alike).
_SLI_BUCKETS: dict[str, dict[str, tuple[float, ...]]] = {
    LLMOBS: {"latency": DURATION_BUCKETS, "time_to_first_token": FIRST_TOKEN_BUCKETS},
    OTEL_GENAI: {"latency": otel.DURATION_BUCKETS, "time_to_first_token": otel.DURATION_BUCKETS},
}
_slo_window = check.duration_between("7d", "1y")


def _default_bound(bounds: tuple[float, ...], seconds: float) -> float:
    """The default objective's ``seconds`` as a bound of ``bounds``: the lowest at or above it."""
    return next((bound for bound in bounds if bound >= seconds), bounds[-1])


def _bucket_bound(bounds: tuple[float, ...]) -> Callable[[Any], float]:
    """A latency SLI's threshold: a bound of its histogram, where good and bad are counted."""

    def check_bound(value: Any) -> float:
        seconds = check.positive(value)
        if seconds not in bounds:
            listed = ", ".join(f"{bound:g}" for bound in bounds)
            raise ValueError(
                f"must be a bucket bound of the histogram, where events are counted as good or "
                f"bad: one of {listed}; got {check.describe(value)}"
            )
        return seconds

    return check_bound


def _objectives(
    r: Reader, slo: dict[str, Any], path: tuple, buckets: dict[str, tuple[float, ...]]
) -> tuple[Objective, ...]:
    """``slo.objectives``: each SLI's objective, its default where left out, none where null
    (and none at all for ``objectives: null``); a latency SLI's seconds a bound of ``buckets``."""
    if "objectives" in slo and slo["objectives"] is None:
        return ()
    path = (*path, "objectives")
    section = r.mapping(slo.get("objectives"), path, keys.OBJECTIVES)
    objectives = []
    for default in DEFAULT_OBJECTIVES:
        where = (*path, default.sli)
        if default.sli in section and section[default.sli] is None:
            continue
        given = r.mapping(section.get(default.sli), where, keys.OBJECTIVE)
        if default.seconds is None and "seconds" in given:
            r.fail((*where, "seconds"), "only a latency SLI has seconds")
        objectives.append(
            Objective(
                default.sli,
                percent=r.value(given, where, "percent", check.objective_percent, default.percent),
                window=r.value(given, where, "window", _slo_window, default.window),
                seconds=default.seconds
                and r.value(
                    given,
                    where,
                    "seconds",
                    _bucket_bound(buckets[default.sli]),
                    _default_bound(buckets[default.sli], default.seconds),
                ),
            )
        )
    return tuple(objectives)


def _slo(r: Reader, data: Any, path: tuple, source: str) -> SLO:
    section = r.mapping(data, path, keys.SLO)
    default = SLO()
    buckets = _SLI_BUCKETS[source]
    return SLO(
        success_rate_percent=r.value(
            section,
            path,
            "success_rate_percent",
            check.objective_percent,
            default.success_rate_percent,
        ),
        error_rate_percent=r.value(
            section, path, "error_rate_percent", check.objective_percent, default.error_rate_percent
        ),
        cache_hit_rate_percent=r.value(
            section,
            path,
            "cache_hit_rate_percent",
            check.objective_percent,
            default.cache_hit_rate_percent,
        ),
        p99_latency_seconds=r.value(
            section,
            path,
            "p99_latency_seconds",
            _objective_within(buckets["latency"], "latency"),
            default.p99_latency_seconds,
        ),
        p95_time_to_first_token_seconds=r.value(
            section,
            path,
            "p95_time_to_first_token_seconds",
            _objective_within(buckets["time_to_first_token"], "time to first token"),
            default.p95_time_to_first_token_seconds,
        ),
        rate_limit_headroom_percent=r.value(
            section,
            path,
            "rate_limit_headroom_percent",
            check.objective_percent,
            default.rate_limit_headroom_percent,
        ),
        objectives=_objectives(r, section, path, buckets),
    )


def _dashboard(r: Reader, data: Any, path: tuple) -> Dashboard:
    section = r.mapping(data, path, keys.DASHBOARD)
    default = Dashboard()
    return Dashboard(
        title=r.value(section, path, "title", check.text, default.title),
        uid=r.value(section, path, "uid", check.identifier, default.uid),
        refresh=r.value(section, path, "refresh", check.bounded_duration("1d"), default.refresh),
        traces=_traces(r, section.get("traces"), (*path, "traces")),
    )


#: What Grafana puts in place of a trace link's URL: the exemplar's trace id.
TRACE_ID_PLACEHOLDER = "${__value.raw}"


def _trace_url(value: Any) -> str:
    checked = check.secret_free_url("keep the trace store's credentials in Grafana")(value)
    if TRACE_ID_PLACEHOLDER not in checked:
        raise ValueError(
            f"must hold {TRACE_ID_PLACEHOLDER} where the trace id goes, got {check.describe(value)}"
        )
    return checked


def _traces(r: Reader, data: Any, path: tuple) -> TraceLink | None:
    if data is None:
        return None
    section = r.mapping(data, path, keys.TRACES)
    link = TraceLink(
        datasource_uid=r.value(section, path, "datasource_uid", check.identifier, None),
        url=r.value(section, path, "url", _trace_url, None),
    )
    given = [key for key in keys.TRACES if section.get(key) is not None]
    if isinstance(data, dict) and set(data) <= set(keys.TRACES) and len(given) != 1:
        r.fail(
            path,
            "give one of datasource_uid (a trace data source of the same Grafana) and url, "
            f"got {' and '.join(given) or 'neither'}",
        )
    return link


def _runs(r: Reader, data: Any, path: tuple) -> Runs:
    section = r.mapping(data, path, keys.RUNS)
    default = Runs()
    return Runs(
        max_cost_usd=r.value(
            section, path, "max_cost_usd", _bucket_bound(RUN_COST_BUCKETS), default.max_cost_usd
        ),
        max_steps=r.value(
            section, path, "max_steps", _bucket_bound(RUN_COUNT_BUCKETS), default.max_steps
        ),
    )


_MAX_AGE = check.count_between(1, 3650, "days")


def _prices(r: Reader, data: Any, path: tuple) -> Prices:
    section = r.mapping(data, path, keys.PRICES)
    default = Prices()
    return Prices(
        update_url=r.value(section, path, "update_url", check.url, default.update_url),
        data_file=r.value(section, path, "data_file", check.text, default.data_file),
        max_age_days=r.value(
            section,
            path,
            "max_age_days",
            check.count_between(1, 3650, "days"),
            default.max_age_days,
        ),
    )


def _alert_for(r: Reader, data: Any, path: tuple) -> tuple[tuple[str, str], ...]:
    """``alerts.for``: durations by alert name (the plan checks the names against the alerts
    it generates)."""
    section = r.mapping(data, path, keys.ALERTS)
    durations = section.get("for")
    if durations is None:
        return ()
    where = (*path, "for")
    if not isinstance(durations, dict):
        r.fail(where, f"must map alert names to durations, got {check.describe(durations)}")
        return ()
    overrides = []
    for alert, value in durations.items():
        duration = r.checked((*where, str(alert)), value, check.hold_duration)
        if duration is not None:
            overrides.append((str(alert), duration))
    return tuple(sorted(overrides))


def parse(data: Any, lines: dict, source: str, reader: Reader | None = None) -> Config:
    """Validate a loaded document into a Config; raise ConfigError listing every issue.
    ``reader`` reads it (a fresh ``Reader`` by default)."""
    r = reader or Reader(source, lines)
    top = read_top(r, data)
    runtime = read_runtime(r, top)
    metrics_source = r.value(top, (), "source", check.one_of(*METRIC_SOURCES), LLMOBS)
    config = Config(
        prometheus=_prometheus(r, top.get("prometheus"), ("prometheus",)),
        metrics_source=metrics_source or LLMOBS,
        topology=_topology(r, top.get("topology"), ("topology",)),
        budgets=runtime.budgets,
        slo=_slo(r, top.get("slo"), ("slo",), metrics_source or LLMOBS),
        team_separator=runtime.team_separator,
        dashboard=_dashboard(r, top.get("dashboard"), ("dashboard",)),
        runbook_url=r.value(top, (), "runbook_url", check.url, default_runbook_url()),
        alert_for=_alert_for(r, top.get("alerts"), ("alerts",)),
        notifications=notifications(r, top.get("notifications"), ("notifications",)),
        kubernetes=kubernetes(r, top, ("kubernetes",)),
        attribution_keys=runtime.attribution_keys,
        labelled_tags=runtime.labelled_tags,
        prices=_prices(r, top.get("prices"), ("prices",)),
        runs=_runs(r, top.get("runs"), ("runs",)),
        source=source,
        lines=lines,
    )
    if r.issues:
        raise ConfigError(r.issues)
    return config


def load(path: str | Path = DEFAULT_CONFIG) -> Config:
    """Read and validate the config file at ``path``."""
    document: Document = read_document(path)
    return parse(document.data, document.lines, document.source)

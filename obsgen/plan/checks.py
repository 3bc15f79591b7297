"""What the config can only be checked against once the catalogue is known: the alerts it
names (``alerts.for``) must be alerts obsgen generates, and each error budget must be able to
burn as fast as its alerts ask; a source without cost has no budgets. (The topology can be
chosen after the file is read, by ``obsgen stack up --topology``: what it asks of the file is
checked here.)"""

from __future__ import annotations

import math

from obsgen.catalogue.alerts import ALERT_NAMES, PAGE_BURNS, RENAMED, TICKET_BURNS
from obsgen.config import Config, ConfigError
from obsgen.config.model import LLMOBS, OTEL_GENAI
from obsgen.config.validation import Reader, did_you_mean, duration_seconds

from .kubernetes import kubernetes_issues


def config_issues(config: Config) -> ConfigError | None:
    """Every issue of ``config`` against the catalogue, None if there is none."""
    r = Reader(config.source, config.lines)
    for alert, _ in config.alert_for:
        where = ("alerts", "for", alert)
        if alert in RENAMED:
            replacement, meaning = RENAMED[alert]
            r.fail(where, f"renamed {replacement}, {meaning}")
        elif alert not in ALERT_NAMES:
            hint = did_you_mean(alert, ALERT_NAMES)
            r.fail(where, f"not an alert obsgen generates{hint} (see docs/alerts.md)")
    for objective in config.slo.objectives:
        for pair in (*PAGE_BURNS, *TICKET_BURNS):
            factor = pair.factor(objective.window)
            if factor * objective.budget >= 1:
                lowest = 100 * (1 - 1 / factor)
                r.fail(
                    ("slo", "objectives", objective.sli, "percent"),
                    f"{objective.percent:g}% over {objective.window} can never alert: spending "
                    f"{pair.budget_share:.0%} of its error budget in {pair.long} takes a burn "
                    f"of {factor:g} times the budget, more than every event failing; set a "
                    f"percent of at least {math.ceil(lowest * 100 + 1e-9) / 100:g} or a shorter "
                    "window",
                )
                break
    settings = config.prometheus
    evaluation, scrape = settings.evaluation_interval, settings.scrape.interval
    if config.topology.central and duration_seconds(evaluation) < duration_seconds(scrape):
        r.fail(
            ("prometheus", "evaluation_interval"),
            f"must not be shorter than scrape.interval ({scrape}) in the central topology: "
            "the store keeps one sample of every series per scrape interval, the rules' "
            "results too",
        )
    if config.metrics_source == OTEL_GENAI and ("budgets",) in config.lines:
        r.fail(
            ("budgets",),
            f"source {OTEL_GENAI} carries no cost, so no budget can be judged: remove budgets, "
            f"or record the calls with llmobs (source {LLMOBS})",
        )
    kubernetes_issues(config, r)
    return ConfigError(r.issues) if r.issues else None

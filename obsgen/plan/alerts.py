"""Alert specs from the catalogue: each entry's rules for this config, with ``for:`` overrides
and runbook links applied."""

from __future__ import annotations

from obsgen.catalogue.alerts import CATALOGUE, GROUPS
from obsgen.catalogue.otel_genai import serves
from obsgen.catalogue.promql import RecordingRule
from obsgen.config import Config

from .model import AlertGroup, AlertSpec


def runbook(config: Config, alert: str) -> str:
    """The runbook URL of ``alert``: its section in the runbook document."""
    return f"{config.runbook_url}#{alert.lower()}"


def alert_groups(config: Config) -> tuple[tuple[AlertGroup, ...], frozenset[RecordingRule]]:
    """Every alert group in file order, and the recording rules the alerts read; alerts on
    data the config's metric source lacks are left out."""
    by_group: dict[str, list[AlertSpec]] = {group: [] for group in GROUPS}
    rules: set[RecordingRule] = set()
    for entry in CATALOGUE:
        for instance in entry.instances(config):
            if not serves(config.metrics_source, instance.expr):
                continue
            rules |= instance.expr.rules
            by_group[entry.group].append(
                AlertSpec(
                    name=entry.name,
                    group=entry.group,
                    expr=instance.expr.text,
                    duration=config.for_duration(entry.name, entry.default_for),
                    severity=entry.severity,
                    summary=instance.summary,
                    description=instance.description,
                    runbook=runbook(config, entry.name),
                    scenario=instance.scenario,
                    labels=instance.labels,
                )
            )
    interval = config.prometheus.evaluation_interval
    groups = tuple(
        AlertGroup(name, interval, tuple(specs)) for name, specs in by_group.items() if specs
    )
    return groups, frozenset(rules)

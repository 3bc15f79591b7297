"""Alertmanager's routing from the config's receivers and the alerts the plan generates: each
kind of alert (budget, slo, telemetry) goes to the receivers the config names for it."""

from __future__ import annotations

from obsgen.catalogue.alerts import INHIBITIONS, KIND_GROUPS
from obsgen.config import Config
from obsgen.config.notifications import UNROUTED

from .model import AlertGroup, AlertmanagerPlan, Inhibition, Route

#: Labels that tell one alert's subject from another's: a budget, an agent, a provider.
GROUP_BY = ("alertname", "scope", "name", "period", "agent_id", "provider")


def alertmanager(config: Config, groups: tuple[AlertGroup, ...]) -> AlertmanagerPlan:
    """The routing of ``groups``' alerts to the config's receivers."""
    names = {
        group.name: tuple(dict.fromkeys(rule.name for rule in group.rules)) for group in groups
    }
    routes = tuple(
        Route(receiver, names[KIND_GROUPS[kind]])
        for kind, receivers in config.notifications.routes
        for receiver in receivers
        if names[KIND_GROUPS[kind]]
    )
    generated = {name for alertnames in names.values() for name in alertnames}
    inhibitions = tuple(
        Inhibition(source, tuple(t for t in targets if t in generated), equal)
        for source, targets, equal in INHIBITIONS
        if source in generated and any(t in generated for t in targets)
    )
    return AlertmanagerPlan(UNROUTED, GROUP_BY, routes, config.notifications.receivers, inhibitions)

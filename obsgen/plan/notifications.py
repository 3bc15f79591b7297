"""Alertmanager's routing from the config's receivers and the alerts the plan generates: each
kind of alert (budget, slo, telemetry) goes to the receivers the config names for it."""

from __future__ import annotations

import dataclasses

from obsgen.catalogue.alerts import INHIBITIONS, KIND_GROUPS, template_text
from obsgen.config import Config
from obsgen.config.model import Receiver
from obsgen.config.notifications import UNROUTED

from .model import AlertGroup, AlertmanagerPlan, Inhibition, Route

#: Labels that tell one alert's subject from another's: a budget, an agent, a provider, an SLO.
GROUP_BY = ("alertname", "scope", "name", "period", "agent_id", "provider", "sli")


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
    receivers = tuple(inert(receiver) for receiver in config.notifications.receivers)
    return AlertmanagerPlan(UNROUTED, GROUP_BY, routes, receivers, inhibitions)


def inert(receiver: Receiver) -> Receiver:
    """``receiver`` with the fields Alertmanager runs as Go templates (a Slack channel, an
    email's to and from) turned into templates that print them as written: a ``{{`` in a
    channel name is text, never a template that fails when an alert is sent."""
    slack, email = receiver.slack, receiver.email
    if slack is not None and slack.channel is not None:
        slack = dataclasses.replace(slack, channel=template_text(slack.channel))
    if email is not None:
        email = dataclasses.replace(
            email, to=template_text(email.to), sender=template_text(email.sender)
        )
    return dataclasses.replace(receiver, slack=slack, email=email)

"""Prometheus rule files: recording rules and alerts, from the plan's rule groups."""

from __future__ import annotations

from obsgen.plan import RuleGroup

from .templating import environment


def render(header: str, groups: tuple[RuleGroup, ...]) -> str:
    """A rule file holding ``groups``."""
    return environment().get_template("rules.yml.j2").render(header=header, groups=groups)

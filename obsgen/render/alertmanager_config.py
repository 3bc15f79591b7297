"""``alertmanager.yml``: the config's receivers, a route per kind of alert and receiver, and
the inhibitions between alerts."""

from __future__ import annotations

from obsgen.plan import NOTIFICATION_TEXT, NOTIFICATION_TITLE, Plan

from .templating import environment


def _matcher(alertnames: tuple[str, ...] | list[str]) -> str:
    """An Alertmanager matcher on these alert names (anchored, as matchers are)."""
    if len(alertnames) == 1:
        return f'alertname="{alertnames[0]}"'
    return f'alertname=~"{"|".join(alertnames)}"'


def render(plan: Plan) -> str:
    """The Alertmanager config for the plan."""
    env = environment()
    env.filters["matcher"] = _matcher
    return env.get_template("alertmanager.yml.j2").render(
        header=plan.header, plan=plan.alertmanager, TITLE=NOTIFICATION_TITLE, TEXT=NOTIFICATION_TEXT
    )

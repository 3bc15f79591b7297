"""``prometheus.yml``: the scrape job, Alertmanagers, remote write, the rule files, and room
for exemplars."""

from __future__ import annotations

from obsgen.plan import Plan
from obsgen.plan.servers import MAX_EXEMPLARS

from .templating import environment, relative


def render(plan: Plan, rule_files: list[str], at: str) -> str:
    """The Prometheus config written to ``at``, loading ``rule_files``."""
    return (
        environment()
        .get_template("prometheus.yml.j2")
        .render(
            header=plan.header,
            prometheus=plan.prometheus,
            scrape=plan.prometheus.scrape,
            rule_files=[relative(at, path) for path in rule_files],
            max_exemplars=MAX_EXEMPLARS,
        )
    )

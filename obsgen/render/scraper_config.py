"""The central topology's scraper config: the service's scrape job, and for Prometheus in
agent mode the stores it writes to (vmagent takes them from its flags)."""

from __future__ import annotations

from obsgen.plan import Plan

from .templating import environment


def render(plan: Plan) -> str:
    """The config every scraper of the HA set runs."""
    return (
        environment()
        .get_template("scraper.yml.j2")
        .render(
            header=plan.header,
            scrape=plan.prometheus.scrape,
            destinations=plan.servers.scraper_config_writes,
        )
    )

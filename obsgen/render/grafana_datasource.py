"""Grafana's Prometheus data source for the dashboards, as provisioned by the local stack and
the central one: the fixed uid the dashboards start on, where it reads, and where its
exemplars' trace ids link."""

from __future__ import annotations

from typing import Any

import yaml

from obsgen.plan import Plan
from obsgen.plan.model import ExemplarLink

#: The uid the dashboards' data source variable starts on.
UID = "prometheus"
#: The single stack's Prometheus, from the environment Grafana runs in (``obsgen stack up``
#: and the compose file set it).
LOCAL_URL = "${OBSGEN_PROMETHEUS_URL}"


def render(plan: Plan, url: str, reads: str) -> str:
    """The provisioning file of a data source reading ``url`` (``reads`` says what that is)."""
    json_data: dict[str, Any] = {"timeInterval": plan.prometheus.scrape.interval}
    link = plan.dashboard.exemplar_link
    if link is not None:
        json_data["exemplarTraceIdDestinations"] = [_destination(link)]
    document = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": UID,
                "type": "prometheus",
                "access": "proxy",
                "url": url,
                "isDefault": True,
                "editable": False,
                "jsonData": json_data,
            }
        ],
    }
    intro = f"{plan.header}\n# The dashboards' data source: {reads}.\n"
    return intro + yaml.safe_dump(document, sort_keys=False, width=100)


def _destination(link: ExemplarLink) -> dict[str, str]:
    """One of Grafana's exemplar links. Provisioning reads ``$`` as an environment lookup, so
    the URL's ``${__value.raw}`` is written ``$${__value.raw}``."""
    if link.datasource_uid is not None:
        return {"name": link.label, "datasourceUid": link.datasource_uid}
    assert link.url is not None
    return {"name": link.label, "url": link.url.replace("$", "$$"), "urlDisplayLabel": "Trace"}

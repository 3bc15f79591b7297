"""The central topology with Docker: a compose file running VictoriaMetrics, vmalert, the HA
set of scrapers, Alertmanager and Grafana with the flags the local stack uses, and Grafana's
data source pointing at the central store."""

from __future__ import annotations

from typing import Any

import yaml

from obsgen import paths
from obsgen.plan import Plan
from obsgen.plan.servers import IMAGES, VMALERT_PORT

from .templating import relative

#: Where the output folder's files are inside the containers.
ALERTS_DIR = "/alerts"
SCRAPER_CONFIG = "/etc/obsgen/scraper.yml"
DATA = "/data"


def _service(image: str, command: tuple[str, ...], volumes: list[str]) -> dict[str, Any]:
    return {
        "image": image,
        "network_mode": "host",
        "restart": "unless-stopped",
        "command": list(command),
        "volumes": volumes,
    }


def _from_compose(path: str) -> str:
    """``path`` (relative to the output folder) as the compose file sees it: always starting
    with a dot, which tells a bind mount from a named volume."""
    seen = relative(paths.CENTRAL_COMPOSE, path)
    return seen if seen.startswith(".") else f"./{seen}"


def compose(plan: Plan) -> str:
    """The compose file of the central topology (host network, every server on 127.0.0.1)."""
    servers = plan.servers
    topology = servers.topology
    services: dict[str, Any] = {}
    volumes: dict[str, None] = {}
    if servers.runs_store:
        services["victoria-metrics"] = _service(
            IMAGES["victoria-metrics"],
            servers.store(DATA, f"127.0.0.1:{servers.store_port}"),
            ["store-data:" + DATA],
        )
        volumes["store-data"] = None
    rules = [f"{ALERTS_DIR}/{path.rsplit('/', 1)[1]}" for path in paths.RULE_FILES]
    services["vmalert"] = _service(
        IMAGES["vmalert"],
        servers.vmalert(rules, f"127.0.0.1:{VMALERT_PORT}"),
        [f"{_from_compose('alerts')}:{ALERTS_DIR}:ro"],
    )
    for index in range(topology.scrapers):
        name = f"scraper-{index + 1}"
        services[name] = _service(
            IMAGES[topology.scraper],
            servers.scraper(SCRAPER_CONFIG, DATA, f"127.0.0.1:{servers.scraper_port + index}"),
            [f"{_from_compose(paths.SCRAPER)}:{SCRAPER_CONFIG}:ro", f"{name}-data:{DATA}"],
        )
        volumes[f"{name}-data"] = None
    alertmanager_dir = paths.ALERTMANAGER.rsplit("/", 1)[0]
    alertmanager_port = plan.prometheus.alertmanagers[0].rsplit(":", 1)[1]
    services["alertmanager"] = {
        **_service(
            IMAGES["alertmanager"],
            (
                "--config.file=/etc/alertmanager/alertmanager.yml",
                "--storage.path=/alertmanager",
                f"--web.listen-address=127.0.0.1:{alertmanager_port}",
                "--cluster.listen-address=",
            ),
            [
                f"{_from_compose(alertmanager_dir)}:/etc/alertmanager:ro",
                "alertmanager-data:/alertmanager",
            ],
        ),
        "working_dir": "/etc/alertmanager",
    }
    volumes["alertmanager-data"] = None
    services["grafana"] = {
        "image": IMAGES["grafana"],
        "network_mode": "host",
        "restart": "unless-stopped",
        "environment": {
            "GF_SERVER_HTTP_ADDR": "127.0.0.1",
            "GF_SERVER_HTTP_PORT": "${OBSGEN_GRAFANA_PORT:-3000}",
            "GF_SECURITY_ADMIN_USER": "admin",
            "GF_SECURITY_ADMIN_PASSWORD": "${GRAFANA_ADMIN_PASSWORD:?set GRAFANA_ADMIN_PASSWORD "
            "in stack/.env}",
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_AUTH_ANONYMOUS_ENABLED": "false",
            "OBSGEN_DASHBOARDS_DIR": "/var/lib/grafana/dashboards",
        },
        "volumes": [
            f"{_from_compose(paths.GRAFANA_DASHBOARDS_PROVIDER)}"
            ":/etc/grafana/provisioning/dashboards/obsgen.yml:ro",
            f"{_from_compose(paths.CENTRAL_DATASOURCE)}"
            ":/etc/grafana/provisioning/datasources/obsgen.yml:ro",
            f"{_from_compose('dashboards')}:/var/lib/grafana/dashboards:ro",
            "grafana-data:/var/lib/grafana",
        ],
    }
    volumes["grafana-data"] = None
    document = {"name": "obsgen-central", "services": services, "volumes": volumes}
    intro = (
        f"{plan.header}\n"
        "# The central topology with Docker: the scrapers write into the store, vmalert evaluates\n"
        "# the rules there and alerts Alertmanager; Grafana reads the store. Host network, every\n"
        "# server on 127.0.0.1. `obsgen stack up --topology central` runs it where a Docker\n"
        "# engine answers (and the same servers as local processes where none does).\n"
    )
    return intro + yaml.safe_dump(document, sort_keys=False, width=100)

"""The prometheus-operator's objects from the config alone: what each selects and references,
the rules they embed, and every name Kubernetes would refuse caught in the config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from obsgen import paths
from obsgen.config import load
from obsgen.output import generate
from obsgen.plan.kubernetes import SCRAPE_USERNAME_KEY
from tests.unit.test_config import errors_of, mutate

RECEIVERS = {
    "finance": {"slack": {"api_url_file": "secrets/slack.url", "channel": "#spend"}},
    "oncall": {
        "webhook": {"url_file": "secrets/hook.url"},
        "pagerduty": {"routing_key_file": "/run/secrets/pagerduty.key"},
        "email": {
            "to": "ops@example.com",
            "from": "llm@example.com",
            "smarthost": "smtp.example.com:587",
            "auth_username": "llm",
            "auth_password_file": "secrets/smtp.password",
        },
    },
}
NOTIFICATIONS = {"receivers": RECEIVERS, "routes": {"budget": ["finance"], "slo": ["oncall"]}}
SCRAPE = {
    "job_name": "llm-service",
    "targets": ["llm:8000"],
    "scheme": "https",
    "tls": {"ca_file": "tls/ca.pem", "server_name": "llm.internal"},
    "basic_auth": {"username": "prom", "password_file": "secrets/scrape.password"},
}


def config_text(**kubernetes: object) -> str:
    document = yaml.safe_load(mutate("kubernetes", kubernetes or {"namespace": "llm"}))
    document["notifications"] = NOTIFICATIONS
    document["prometheus"]["scrape"] = SCRAPE
    return yaml.safe_dump(document, sort_keys=False)


def objects(tmp_path: Path, **kubernetes: object) -> dict[str, dict]:
    path = tmp_path / "obsgen.yaml"
    path.write_text(config_text(**kubernetes))
    files = generate(load(path), "kubernetes")
    assert sorted(files) == sorted(paths.TARGETS["kubernetes"])
    return {name: yaml.safe_load(text) for name, text in files.items()}


def test_without_a_kubernetes_section_nothing_is_rendered(tmp_path):
    path = tmp_path / "obsgen.yaml"
    path.write_text(mutate("kubernetes", None))
    assert generate(load(path), "kubernetes") == {}


def test_an_empty_section_asks_for_the_defaults(tmp_path):
    path = tmp_path / "obsgen.yaml"
    path.write_text(mutate("kubernetes", "PLACEHOLDER").replace("PLACEHOLDER", "{}"))
    rule = yaml.safe_load(generate(load(path), "kubernetes")[paths.KUBERNETES_RULES])
    assert rule["metadata"]["namespace"] == "default"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_the_rule_holds_the_rule_files_groups_each_alert_labelled_with_the_namespace(tmp_path):
    path = tmp_path / "obsgen.yaml"
    path.write_text(config_text(namespace="llm-prod"))
    files = generate(load(path))
    embedded = yaml.safe_load(files[paths.KUBERNETES_RULES])["spec"]["groups"]
    plain = [g for f in paths.RULE_FILES for g in yaml.safe_load(files[f])["groups"]]
    alerts = [rule for group in embedded for rule in group["rules"] if "alert" in rule]
    assert alerts and all(rule["labels"]["namespace"] == "llm-prod" for rule in alerts)
    for group in embedded:
        for rule in group["rules"]:
            if "alert" in rule:
                del rule["labels"]["namespace"]
    assert embedded == plain


def test_the_service_monitor_scrapes_as_the_scrape_job_does(tmp_path):
    monitor = objects(tmp_path)[paths.KUBERNETES_MONITOR]
    assert monitor["kind"] == "ServiceMonitor"
    spec = monitor["spec"]
    assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": "llm-service"}}
    assert spec["namespaceSelector"] == {"matchNames": ["llm"]}
    (endpoint,) = spec["endpoints"]
    assert set(endpoint) == {
        "port", "path", "scheme", "interval", "scrapeTimeout", "relabelings", "tlsConfig",
        "basicAuth",
    }  # fmt: skip
    assert endpoint["port"] == "metrics" and endpoint["scheme"] == "https"
    assert endpoint["relabelings"] == [
        {"action": "replace", "targetLabel": "job", "replacement": "llm-service"}
    ]
    secret = "obsgen-notifications"
    assert endpoint["tlsConfig"] == {
        "ca": {"secret": {"name": secret, "key": "ca.pem"}},
        "serverName": "llm.internal",
    }
    assert endpoint["basicAuth"] == {
        "username": {"name": secret, "key": SCRAPE_USERNAME_KEY},
        "password": {"name": secret, "key": "scrape.password"},
    }


def test_a_pod_monitor_selects_pods_by_the_given_labels(tmp_path):
    monitor = objects(tmp_path, monitor="pod", selector={"app": "llm"}, port="http-metrics")
    pod_monitor = monitor[paths.KUBERNETES_MONITOR]
    assert pod_monitor["kind"] == "PodMonitor"
    assert pod_monitor["spec"]["selector"] == {"matchLabels": {"app": "llm"}}
    (endpoint,) = pod_monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "http-metrics"


def test_the_dashboard_config_map_carries_the_dashboard_and_the_sidecar_label(tmp_path):
    path = tmp_path / "obsgen.yaml"
    path.write_text(config_text(namespace="llm", dashboard_labels={"grafana_dashboard": "yes"}))
    files = generate(load(path))
    config_map = yaml.safe_load(files[paths.KUBERNETES_DASHBOARD])
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "yes"
    assert config_map["data"] == {"llm_usage_dashboard.json": files[paths.DASHBOARD]}


def test_notifications_reference_the_secret_by_file_name_and_no_file_path_is_written(tmp_path):
    manifests = objects(tmp_path)
    spec = manifests[paths.KUBERNETES_ALERTMANAGER]["spec"]
    receivers = {r["name"]: r for r in spec["receivers"]}
    secret = "obsgen-notifications"
    assert receivers["finance"]["slackConfigs"][0]["apiURL"] == {"name": secret, "key": "slack.url"}
    oncall = receivers["oncall"]
    assert oncall["webhookConfigs"][0]["urlSecret"] == {"name": secret, "key": "hook.url"}
    assert oncall["pagerdutyConfigs"][0]["routingKey"] == {"name": secret, "key": "pagerduty.key"}
    assert oncall["emailConfigs"][0]["authPassword"] == {"name": secret, "key": "smtp.password"}
    routes = {r["receiver"]: r for r in spec["route"]["routes"]}
    assert routes["finance"]["matchers"][0]["name"] == "alertname"
    assert "LLMBudgetExceeded" in routes["finance"]["matchers"][0]["value"].split("|")
    text = yaml.safe_dump(manifests)
    for directory in ("secrets/", "/run/secrets", "tls/"):
        assert directory not in text


def test_the_kustomization_lists_every_object(tmp_path):
    kustomization = objects(tmp_path)[paths.KUBERNETES_KUSTOMIZATION]
    files = [path.rsplit("/", 1)[1] for path in paths.KUBERNETES_OBJECTS]
    assert kustomization["resources"] == files


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("namespace", "LLM_prod", "must be a namespace name"),
        ("namespace", "x" * 64, "must be a namespace name"),
        ("release", "-stack", "must be a label value"),
        ("monitor", "deployment", "must be one of service, pod"),
        ("port", "8000", "must be a port name"),
        ("port", "metrics-port-long", "must be a port name"),
        ("secret", "Obsgen", "must be an object name"),
        ("selector", {"app/name/x": "llm"}, "must be a label key"),
        ("selector", {"app": "llm service"}, "must be a label value"),
        ("selector", [], "must map label keys to values"),
        ("dashboard_labels", {"grafana_dashboard": 1.5}, "must be a label value"),
        ("sidecar", True, "unknown key"),
    ],
)
def test_names_kubernetes_refuses_are_refused_in_the_config(tmp_path, key, value, message):
    text = mutate("kubernetes", {key: value})
    (error,) = errors_of(text, tmp_path)
    assert error.startswith("kubernetes.") and message in error


def test_two_secret_files_of_one_name_are_refused(tmp_path):
    document = yaml.safe_load(config_text(namespace="llm"))
    document["notifications"]["receivers"]["oncall"]["webhook"] = {"url_file": "other/slack.url"}
    (error,) = errors_of(yaml.safe_dump(document), tmp_path)
    assert "'other/slack.url' and 'secrets/slack.url' would both be the key 'slack.url'" in error


def test_a_job_name_that_cannot_be_a_label_value_needs_a_selector(tmp_path):
    document = yaml.safe_load(config_text(namespace="llm"))
    document["prometheus"]["scrape"]["job_name"] = "llm-service_"
    (error,) = errors_of(yaml.safe_dump(document), tmp_path)
    assert error.startswith("kubernetes.selector: is needed")
    document["kubernetes"]["selector"] = {"app": "llm"}
    path = tmp_path / "obsgen.yaml"
    path.write_text(yaml.safe_dump(document))
    assert generate(load(path), "kubernetes")

"""The prometheus-operator's objects (kube-prometheus-stack picks them up): a PrometheusRule
holding the rule files' groups, a ServiceMonitor or PodMonitor for the service, the dashboard in
a ConfigMap that Grafana's sidecar loads, an AlertmanagerConfig with the config's routing, and
a kustomization listing them.

The operator scopes an AlertmanagerConfig's routes to alerts labelled with its namespace, so
every alert in the PrometheusRule carries ``namespace``. Secrets are references to keys of one
Secret, each file the config names under its file name."""

from __future__ import annotations

import posixpath
from typing import Any

import yaml

from obsgen import paths
from obsgen.plan import NOTIFICATION_TEXT, NOTIFICATION_TITLE, KubernetesPlan, Plan
from obsgen.plan.kubernetes import SCRAPE_USERNAME_KEY

OPERATOR_API = "monitoring.coreos.com/v1"
ALERTMANAGER_CONFIG_API = "monitoring.coreos.com/v1alpha1"
#: The objects' names (the dashboard's carries its uid).
NAME = "obsgen-llm"


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL, descriptions, the dashboard) as literal blocks; no anchors,
    no folded lines."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _string)


def _document(header: str, body: dict[str, Any]) -> str:
    return header + "\n" + yaml.dump(body, Dumper=_Dumper, sort_keys=False, width=10_000)


def _metadata(
    k8s: KubernetesPlan, name: str, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    every_label = {**k8s.labels(), **(labels or {})}
    return {"name": name, "namespace": k8s.settings.namespace, "labels": every_label}


def _secret(k8s: KubernetesPlan, file: str) -> dict[str, str]:
    return {"name": k8s.settings.secret, "key": k8s.key_of(file)}


def prometheus_rule(plan: Plan, k8s: KubernetesPlan, rule_files: list[str]) -> str:
    """The groups of the rendered ``rule_files``, every alert labelled with the namespace."""
    groups = []
    for text in rule_files:
        for group in yaml.safe_load(text)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rule["labels"] = {**rule.get("labels", {}), "namespace": k8s.settings.namespace}
            groups.append(group)
    body = {
        "apiVersion": OPERATOR_API,
        "kind": "PrometheusRule",
        "metadata": _metadata(k8s, f"{NAME}-rules"),
        "spec": {"groups": groups},
    }
    return _document(plan.header, body)


def _tls_config(plan: Plan, k8s: KubernetesPlan) -> dict[str, Any] | None:
    tls = plan.prometheus.scrape.tls
    if tls is None:
        return None
    config: dict[str, Any] = {}
    if tls.ca_file:
        config["ca"] = {"secret": _secret(k8s, tls.ca_file)}
    if tls.cert_file:
        config["cert"] = {"secret": _secret(k8s, tls.cert_file)}
    if tls.key_file:
        config["keySecret"] = _secret(k8s, tls.key_file)
    if tls.server_name:
        config["serverName"] = tls.server_name
    if tls.insecure_skip_verify:
        config["insecureSkipVerify"] = True
    return config


def monitor(plan: Plan, k8s: KubernetesPlan) -> str:
    """The ServiceMonitor (or PodMonitor) scraping the service as the config's scrape job does,
    its series labelled with that job."""
    scrape = plan.prometheus.scrape
    endpoint: dict[str, Any] = {
        "port": k8s.settings.port,
        "path": scrape.metrics_path,
        "scheme": scrape.scheme,
        "interval": scrape.interval,
        "scrapeTimeout": scrape.timeout,
        "relabelings": [{"action": "replace", "targetLabel": "job", "replacement": k8s.job}],
    }
    if (tls := _tls_config(plan, k8s)) is not None:
        endpoint["tlsConfig"] = tls
    if scrape.basic_auth is not None:
        endpoint["basicAuth"] = {
            "username": {"name": k8s.settings.secret, "key": SCRAPE_USERNAME_KEY},
            "password": _secret(k8s, scrape.basic_auth.password_file),
        }
    pods = k8s.settings.monitor == "pod"
    body = {
        "apiVersion": OPERATOR_API,
        "kind": "PodMonitor" if pods else "ServiceMonitor",
        "metadata": _metadata(k8s, f"{NAME}-service"),
        "spec": {
            "selector": {"matchLabels": dict(k8s.selector)},
            "namespaceSelector": {"matchNames": [k8s.settings.namespace]},
            "podMetricsEndpoints" if pods else "endpoints": [endpoint],
        },
    }
    return _document(plan.header, body)


def dashboard(plan: Plan, k8s: KubernetesPlan, dashboard_json: str) -> str:
    """The dashboard in a ConfigMap with the labels Grafana's sidecar loads dashboards by."""
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(k8s, f"{NAME}-dashboard", labels=dict(k8s.settings.dashboard_labels)),
        "data": {posixpath.basename(paths.DASHBOARD): dashboard_json},
    }
    return _document(plan.header, body)


def _alertname_matcher(alertnames: tuple[str, ...]) -> dict[str, str]:
    if len(alertnames) == 1:
        return {"name": "alertname", "value": alertnames[0], "matchType": "="}
    return {"name": "alertname", "value": "|".join(alertnames), "matchType": "=~"}


def _receiver(k8s: KubernetesPlan, receiver) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": receiver.name}
    if (slack := receiver.slack) is not None:
        config = {"apiURL": _secret(k8s, slack.api_url_file), "sendResolved": True}
        if slack.channel:
            config["channel"] = slack.channel
        spec["slackConfigs"] = [{**config, "title": NOTIFICATION_TITLE, "text": NOTIFICATION_TEXT}]
    if (hook := receiver.webhook) is not None:
        target = {"url": hook.url} if hook.url else {"urlSecret": _secret(k8s, hook.url_file)}
        spec["webhookConfigs"] = [{**target, "sendResolved": True}]
    if (email := receiver.email) is not None:
        config = {"to": email.to, "from": email.sender, "smarthost": email.smarthost}
        if email.auth_username:
            config["authUsername"] = email.auth_username
            config["authPassword"] = _secret(k8s, email.auth_password_file)
        config |= {"requireTLS": email.require_tls, "sendResolved": True}
        config["headers"] = [{"key": "Subject", "value": NOTIFICATION_TITLE}]
        spec["emailConfigs"] = [config]
    if (pagerduty := receiver.pagerduty) is not None:
        spec["pagerdutyConfigs"] = [
            {
                "routingKey": _secret(k8s, pagerduty.routing_key_file),
                "sendResolved": True,
                "description": NOTIFICATION_TITLE,
            }
        ]
    return spec


def alertmanager_config(plan: Plan, k8s: KubernetesPlan) -> str:
    """The config's receivers and routes (as ``alertmanager.yml`` has them), scoped by the
    operator to this namespace's alerts."""
    routing = plan.alertmanager
    route: dict[str, Any] = {
        "receiver": routing.unrouted,
        "groupBy": list(routing.group_by),
        "groupWait": "10s",
        "groupInterval": "1m",
        "repeatInterval": "4h",
    }
    critical = {"name": "severity", "value": "critical", "matchType": "="}
    if routing.routes:
        route["routes"] = [
            {
                "receiver": r.receiver,
                "matchers": [_alertname_matcher(r.alertnames)],
                "continue": True,
                "routes": [{"matchers": [critical], "repeatInterval": "1h"}],
            }
            for r in routing.routes
        ]
    spec: dict[str, Any] = {
        "route": route,
        "receivers": [{"name": routing.unrouted}]
        + [_receiver(k8s, receiver) for receiver in routing.receivers],
    }
    if routing.inhibitions:
        spec["inhibitRules"] = [
            {
                "sourceMatch": [_alertname_matcher((i.source,))],
                "targetMatch": [_alertname_matcher(i.targets)],
                "equal": list(i.equal),
            }
            for i in routing.inhibitions
        ]
    body = {
        "apiVersion": ALERTMANAGER_CONFIG_API,
        "kind": "AlertmanagerConfig",
        "metadata": _metadata(k8s, f"{NAME}-alerts"),
        "spec": spec,
    }
    return _document(plan.header, body)


def kustomization(plan: Plan) -> str:
    """The objects as one kustomization: ``kubectl apply -k`` on their folder."""
    folder = posixpath.dirname(paths.KUBERNETES_KUSTOMIZATION)
    resources = [posixpath.relpath(path, folder) for path in paths.KUBERNETES_OBJECTS]
    body = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }
    return _document(plan.header, body)


def render(plan: Plan, dashboard_json: str, rule_files: list[str]) -> dict[str, str]:
    """Every Kubernetes file, by path; the plan must have its Kubernetes side."""
    k8s = plan.kubernetes
    assert k8s is not None
    return {
        paths.KUBERNETES_RULES: prometheus_rule(plan, k8s, rule_files),
        paths.KUBERNETES_MONITOR: monitor(plan, k8s),
        paths.KUBERNETES_DASHBOARD: dashboard(plan, k8s, dashboard_json),
        paths.KUBERNETES_ALERTMANAGER: alertmanager_config(plan, k8s),
        paths.KUBERNETES_KUSTOMIZATION: kustomization(plan),
    }

"""Where each generated and shipped file lives, relative to the output folder."""

DASHBOARD = "dashboards/llm_usage_dashboard.json"
DASHBOARD_README = "dashboards/README.md"
PROMETHEUS = "stack/prometheus/prometheus.yml"
RECORDING_RULES = "alerts/llm_recording_rules.yml"
ALERT_RULES = "alerts/llm_alert_rules.yml"
ALERT_TESTS = "alerts/tests/llm_alerts_test.yml"
#: The promtool tests of alerts that need a day or more of history (a forecast of the budgets,
#: a comparison with last week), evaluated every 10 minutes.
WEEK_ALERT_TESTS = "alerts/tests/llm_alerts_week_test.yml"
ALERT_INDEX = "docs/alerts.md"
ALERTMANAGER = "stack/alertmanager/alertmanager.yml"
#: Grafana's data source for the dashboards: the local stack's Prometheus.
DATASOURCE = "stack/grafana/provisioning/datasources/prometheus.yml"
RUNBOOKS = "docs/runbooks.md"
ALERT_TEST_FILES = (ALERT_TESTS, WEEK_ALERT_TESTS)
RULE_FILES = (RECORDING_RULES, ALERT_RULES)
#: The central topology's files: the scrapers' config, a compose file running it, and
#: Grafana's data source reading the central store.
SCRAPER = "stack/central/scraper.yml"
CENTRAL_COMPOSE = "stack/central/docker-compose.yml"
CENTRAL_DATASOURCE = "stack/central/grafana-datasource.yml"
#: The prometheus-operator's objects (``obsgen build kubernetes``), applied with ``kubectl apply
#: -k`` on their folder.
KUBERNETES_RULES = "kubernetes/prometheus-rule.yaml"
KUBERNETES_MONITOR = "kubernetes/monitor.yaml"
KUBERNETES_DASHBOARD = "kubernetes/dashboard-configmap.yaml"
KUBERNETES_ALERTMANAGER = "kubernetes/alertmanager-config.yaml"
KUBERNETES_KUSTOMIZATION = "kubernetes/kustomization.yaml"
KUBERNETES_OBJECTS = (
    KUBERNETES_RULES,
    KUBERNETES_MONITOR,
    KUBERNETES_DASHBOARD,
    KUBERNETES_ALERTMANAGER,
)
#: The shipped provider that loads the dashboards into Grafana.
GRAFANA_DASHBOARDS_PROVIDER = "stack/grafana/provisioning/dashboards/obsgen.yml"
#: The files of each ``obsgen build`` target.
TARGETS = {
    "dashboards": (DASHBOARD, DASHBOARD_README, DATASOURCE),
    "alerts": (RECORDING_RULES, ALERT_RULES, ALERT_TESTS, WEEK_ALERT_TESTS, ALERT_INDEX, RUNBOOKS),
    "prometheus": (PROMETHEUS,),
    "alertmanager": (ALERTMANAGER,),
    "central": (SCRAPER, CENTRAL_COMPOSE, CENTRAL_DATASOURCE),
    "kubernetes": (*KUBERNETES_OBJECTS, KUBERNETES_KUSTOMIZATION),
}

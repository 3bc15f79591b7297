"""The keys of each section of the generator's part of ``obsgen.yaml``, each with what it
means: what the readers accept, and what the config reference (``docs/reference/config.md``)
says of them."""

from __future__ import annotations

PROMETHEUS = {
    "evaluation_interval": "how often Prometheus evaluates the rules (at most 1h)",
    "scrape": "the LLM service whose /metrics llmobs serves",
    "alertmanagers": "host:port of each Alertmanager the alerts go to",
    "remote_write": "long-term stores Prometheus sends samples to (Mimir, Thanos, Cortex)",
}
SCRAPE = {
    "job_name": "the job label of the service's series",
    "targets": "host:port of each replica's /metrics",
    "metrics_path": "the path of the metrics endpoint",
    "scheme": "http, or https (with tls when the CA is private)",
    "interval": "how often each target is scraped (at most 1h)",
    "timeout": "how long a scrape may take (not longer than interval)",
    "tls": "TLS of an https endpoint",
    "basic_auth": "basic auth of the endpoint",
}
TLS = {
    "ca_file": "the CA that signed the endpoint's certificate",
    "cert_file": "a client certificate, for mutual TLS (with key_file)",
    "key_file": "the client certificate's key (with cert_file)",
    "server_name": "the name the endpoint's certificate must have",
    "insecure_skip_verify": "accept any certificate (for tests only)",
}
BASIC_AUTH = {
    "username": "the user name",
    "password_file": "a file holding the password (read by Prometheus; never inline)",
}
REMOTE_WRITE = {
    "url": "the store's push URL, with no credentials or tokens in it",
    "basic_auth": "basic auth of the store",
    "bearer_token_file": "a file holding a bearer token (instead of basic_auth)",
}
TOPOLOGY = {
    "kind": "single (one Prometheus scrapes, evaluates and alerts) or central (HA scrapers "
    "write into a central store, where vmalert evaluates the rules)",
    "scraper": "central: what scrapes the service, prometheus (in agent mode) or vmagent",
    "scrapers": "central: how many identical scrapers run (an HA set; the store keeps one "
    "copy of what they all scrape)",
    "store": "central: the VictoriaMetrics the scrapers write to and vmalert reads",
}
STORE = {
    "query_url": "the store's Prometheus query API (a single node's URL, or vmselect's "
    ".../select/<tenant>/prometheus)",
    "write_url": "where the scrapers write (default: query_url + /api/v1/write; vminsert's "
    ".../insert/<tenant>/prometheus/api/v1/write)",
}
KUBERNETES = {
    "namespace": "the namespace of the service and of every object obsgen renders for it",
    "release": "the release label the prometheus-operator selects rules, monitors and "
    "AlertmanagerConfigs by (kube-prometheus-stack's Helm release name)",
    "monitor": "service (a ServiceMonitor selects the service) or pod (a PodMonitor selects "
    "its pods)",
    "selector": "labels of the service (or pods) to scrape (default: app.kubernetes.io/name: "
    "the scrape job name)",
    "port": "the name of the service's (or container's) port that serves /metrics",
    "secret": "the Secret holding each *_file of the config under its file name "
    "(`kubectl create secret generic <secret> --from-file=...`)",
    "dashboard_labels": "labels that make Grafana's dashboard sidecar load the dashboard's "
    'ConfigMap (default: grafana_dashboard: "1", kube-prometheus-stack\'s)',
}
SLO = {
    "success_rate_percent": "LLMSuccessRateLow fires below this share of requests succeeding",
    "error_rate_percent": "LLMErrorRateHigh fires above this share of requests failing",
    "cache_hit_rate_percent": "LLMCacheHitRateLow fires below this response-cache hit rate",
    "p99_latency_seconds": "LLMLatencyP99High fires above this p99 latency of a model",
    "p95_time_to_first_token_seconds": "LLMTimeToFirstTokenHigh fires above this p95 time to "
    "the first token of streamed calls",
    "rate_limit_headroom_percent": "LLMRateLimitHeadroomLow fires below this share of a "
    "provider's rate limit left",
    "objectives": "error budgets per SLI, alerted on by how fast they burn "
    "(LLMErrorBudgetBurnFast pages, LLMErrorBudgetBurnSlow opens a ticket)",
}
OBJECTIVES = {
    "availability": "requests that succeed; null: no such objective",
    "latency": "answered requests faster than its seconds; null: none",
    "time_to_first_token": "streamed answers whose first token comes within its seconds; "
    "null: none",
}
OBJECTIVE = {
    "percent": "the share of good events the objective asks for (above 0, below 100)",
    "window": "the period its error budget spans (7d to 1y)",
    "seconds": "latency SLIs: a good event takes at most this long (a bucket bound of its "
    "histogram)",
}
DASHBOARD = {
    "title": "the dashboard's title",
    "uid": "its fixed uid (its URL is /d/<uid>)",
    "refresh": "how often it refreshes (at most 1d)",
    "traces": "where an exemplar's trace id opens, set on Grafana's Prometheus data source "
    "(default: nowhere)",
}
TRACES = {
    "datasource_uid": "the uid of a trace data source in the same Grafana (Tempo, Jaeger, Zipkin)",
    "url": "or an outside page of a trace, ${__value.raw} standing for its id",
}
RUNS = {
    "max_cost_usd": "an agent run costing more alerts (LLMAgentRunCostHigh); a bound of "
    "llm_agent_run_cost_usd's buckets, or null for no alert",
    "max_steps": "an agent run taking more steps alerts (LLMAgentRunStepsHigh); a bound of "
    "llm_agent_run_steps' buckets, or null for no alert",
}
PRICES = {
    "update_url": "where `obsgen prices update` fetches genai-prices' data file (default: "
    "genai-prices' published file)",
    "data_file": "the file it writes, which services read (LLMOBS_PRICE_DATA) (default: "
    "prices.json)",
    "max_age_days": "LLMPriceDataStale fires when the prices a service uses were fetched longer "
    "ago (1 to 3650; default 30)",
}
ALERTS = {
    "for": "how long each named alert's condition must hold before it fires (0s: at once, at "
    "most 6h)",
}
NOTIFICATIONS = {
    "receivers": "named destinations, each with one or more integrations",
    "routes": "the receivers of each kind of alert (budget, slo, telemetry)",
}
RECEIVER = {
    "slack": "a Slack channel",
    "webhook": "an HTTP endpoint Alertmanager posts the alerts to",
    "email": "mail through an SMTP server",
    "pagerduty": "a PagerDuty service (Events API v2)",
}
SLACK = {
    "api_url_file": "a file holding the Slack webhook URL (a secret)",
    "channel": "the channel to post to, as written",
}
WEBHOOK = {
    "url": "the endpoint's URL, with no secret in it",
    "url_file": "a file holding a URL that holds a secret (Alertmanager 0.26 or later)",
}
EMAIL = {
    "to": "the address alerts are mailed to",
    "from": "the address they are mailed from",
    "smarthost": "host:port of the SMTP server",
    "auth_username": "the SMTP user (with auth_password_file)",
    "auth_password_file": "a file holding the SMTP password",
    "require_tls": "refuse to send without TLS",
}
PAGERDUTY = {
    "routing_key_file": "a file holding the service's routing key",
}

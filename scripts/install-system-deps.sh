#!/usr/bin/env bash
# Installs Prometheus (with promtool), Alertmanager, PostgreSQL and VictoriaMetrics (with vmalert
# and vmagent) from Debian or Ubuntu packages when they are missing: the local stack and the
# integration tests run these real binaries.
# With --venv it installs Python's venv module instead (Debian ships it apart); with --browser,
# headless Chromium, which the tests open the HTML pages obsgen writes in.
set -euo pipefail

has_postgres() {
  command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

packages="prometheus prometheus-alertmanager postgresql victoria-metrics"
if [ "${1:-}" = "--venv" ]; then
  packages="python3-venv"
elif [ "${1:-}" = "--browser" ]; then
  command -v chromium >/dev/null && exit 0
  packages="chromium"
elif command -v prometheus >/dev/null && command -v promtool >/dev/null \
    && { command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null; } \
    && has_postgres && command -v victoria-metrics >/dev/null && command -v vmalert >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "Install $packages (Prometheus and Alertmanager: prometheus.io/download;" \
    "PostgreSQL: postgresql.org/download; VictoriaMetrics: docs.victoriametrics.com)." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "obsgen: installing $packages with apt-get (a minute or two, once)"
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null
# Debian's packages start system services on the stack's ports (9090, 9093) where systemd runs;
# the stack and the tests run their own instances, so stop the ones this script just installed.
if [ "$packages" != "python3-venv" ] && [ "$packages" != "chromium" ] \
    && command -v systemctl >/dev/null \
    && systemctl is-system-running >/dev/null 2>&1; then
  $sudo systemctl disable --now prometheus prometheus-alertmanager postgresql victoria-metrics \
    >/dev/null 2>&1 || true
  echo "Installed Prometheus, Alertmanager, PostgreSQL and VictoriaMetrics; their system" \
    "services are stopped and disabled."
fi

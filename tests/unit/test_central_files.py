"""The central topology's plan and files: the servers' flags, the stores' retention, the
scraper config and the compose file, from the config alone."""

from __future__ import annotations

import dataclasses
import posixpath
from pathlib import Path

import pytest
import yaml

from obsgen import paths, plan
from obsgen.config import load
from obsgen.config.model import BasicAuth, RemoteWrite
from obsgen.output import generate
from obsgen.plan.servers import longest_lookback
from tests.unit.test_config import GOOD, mutate

ROOT = Path(__file__).resolve().parents[2]


def config_of(tmp_path: Path, text: str):
    path = tmp_path / "obsgen.yaml"
    path.write_text(text)
    return load(path)


def central(tmp_path: Path, **topology):
    return config_of(tmp_path, mutate("topology", {"kind": "central", **topology}))


def test_lookback_is_a_range_and_its_offset():
    exprs = [
        "rate(x[5m])",
        "(y offset 1w) > 3",
        "max_over_time(z[1h:5m] offset 2d)",
        "a[30d] / b[30d]",
        "c[500ms]",
        "sum_over_time(d[$__range])",
    ]
    assert longest_lookback(exprs) == 30 * 86400
    assert longest_lookback(exprs[:3]) == 7 * 86400
    assert longest_lookback(exprs[2:3]) == 2 * 86400 + 3600
    assert longest_lookback(["up"]) == 0


def test_the_stores_keep_a_day_more_than_the_longest_window(tmp_path):
    assert plan.build(load(ROOT / "obsgen.yaml")).servers.retention == "31d"
    objectives = {"availability": {"percent": 99.9, "window": "90d"}}
    longer = config_of(tmp_path, mutate("slo.objectives", objectives))
    servers = plan.build(longer).servers
    assert servers.retention == "91d"
    assert "--storage.tsdb.retention.time=91d" in servers.prometheus("p.yml", "data", "h:1")
    assert "-retentionPeriod=91d" in servers.store("data", "h:1")


def test_the_store_keeps_one_sample_per_scrape_and_looks_two_scrapes_behind(tmp_path):
    flags = plan.build(central(tmp_path)).servers.store("/data", "127.0.0.1:8428")
    assert "-dedup.minScrapeInterval=15s" in flags
    assert "-search.latencyOffset=35s" in flags  # two scrapes and remote write's batch delay


def test_vmalert_reads_and_writes_the_store_and_alerts_every_alertmanager(tmp_path):
    document = yaml.safe_load(GOOD)
    document["prometheus"]["alertmanagers"] = ["am-1:9093", "am-2:9093"]
    document["topology"] = {"kind": "central", "store": {
        "query_url": "http://vmselect:8481/select/7/prometheus",
        "write_url": "http://vminsert:8480/insert/7/prometheus/api/v1/write",
    }}  # fmt: skip
    servers = plan.build(config_of(tmp_path, yaml.safe_dump(document))).servers
    flags = servers.vmalert(["r.yml", "a.yml"], "127.0.0.1:8880")
    assert flags == (
        "-rule=r.yml",
        "-rule=a.yml",
        "-datasource.url=http://vmselect:8481/select/7/prometheus",
        "-remoteWrite.url=http://vminsert:8480/insert/7/prometheus",
        "-remoteRead.url=http://vmselect:8481/select/7/prometheus",
        "-notifier.url=http://am-1:9093",
        "-notifier.url=http://am-2:9093",
        "-evaluationInterval=15s",
        "-httpListenAddr=127.0.0.1:8880",
    )
    assert not servers.runs_store  # a cluster of the user's own


def test_vmagent_pairs_each_remote_writes_settings_with_its_url(tmp_path):
    servers = plan.build(central(tmp_path, scraper="vmagent")).servers
    writes = (
        RemoteWrite("https://long.example/api/v1/push", BasicAuth("u", "/run/pw")),
        RemoteWrite("https://other.example/push", bearer_token_file="/run/token"),
    )
    settings = dataclasses.replace(servers.settings, remote_write=writes)
    servers = dataclasses.replace(servers, settings=settings)
    flags = servers.scraper("s.yml", "/data", "127.0.0.1:8429")
    assert flags == (
        "-promscrape.config=s.yml",
        "-remoteWrite.url=http://localhost:8428/api/v1/write",
        "-remoteWrite.url=https://long.example/api/v1/push",
        "-remoteWrite.url=https://other.example/push",
        "-remoteWrite.basicAuth.username=",
        "-remoteWrite.basicAuth.username=u",
        "-remoteWrite.basicAuth.username=",
        "-remoteWrite.basicAuth.passwordFile=",
        "-remoteWrite.basicAuth.passwordFile=/run/pw",
        "-remoteWrite.basicAuth.passwordFile=",
        "-remoteWrite.bearerTokenFile=",
        "-remoteWrite.bearerTokenFile=",
        "-remoteWrite.bearerTokenFile=/run/token",
        "-remoteWrite.tmpDataPath=/data",
        "-httpListenAddr=127.0.0.1:8429",
    )


@pytest.mark.parametrize("scraper", ["prometheus", "vmagent"])
def test_every_scraper_runs_one_config_without_a_replica_label(tmp_path, scraper):
    files = generate(central(tmp_path, scraper=scraper, scrapers=3))
    document = yaml.safe_load(files[paths.SCRAPER])
    assert "external_labels" not in document["global"]
    (job,) = document["scrape_configs"]
    assert job["static_configs"] == [{"targets": ["localhost:8000"]}]
    writes = [target["url"] for target in document.get("remote_write", [])]
    # vmagent takes the store from its flags; Prometheus in agent mode from the file
    assert writes == (["http://localhost:8428/api/v1/write"] if scraper == "prometheus" else [])
    compose = yaml.safe_load(files[paths.CENTRAL_COMPOSE])["services"]
    commands = [compose[f"scraper-{n}"]["command"] for n in (1, 2, 3)]
    listening = ("--web.listen-address=", "-httpListenAddr=")
    listens = [next(f for f in c if f.startswith(listening)) for c in commands]
    assert len(set(listens)) == 3  # each on a port of its own
    assert all([f for f in c if f not in listens] == [
        f for f in commands[0] if f not in listens
    ] for c in commands)  # fmt: skip


def test_the_compose_file_mounts_the_files_the_build_writes(tmp_path):
    files = generate(central(tmp_path))
    services = yaml.safe_load(files[paths.CENTRAL_COMPOSE])["services"]
    assert list(services) == [
        "victoria-metrics",
        "vmalert",
        "scraper-1",
        "scraper-2",
        "alertmanager",
        "grafana",
    ]
    compose_dir = posixpath.dirname(paths.CENTRAL_COMPOSE)
    written = set(files) | {paths.GRAFANA_DASHBOARDS_PROVIDER}
    for name, service in services.items():
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            if not source.startswith("."):
                continue  # a named volume
            normal = posixpath.normpath(posixpath.join(compose_dir, source))
            assert normal in written or any(f.startswith(normal + "/") for f in written), (
                f"{name} mounts {source}, which the build does not write"
            )
    assert "-rule=/alerts/llm_recording_rules.yml" in services["vmalert"]["command"]
    source = yaml.safe_load(files[paths.CENTRAL_DATASOURCE])["datasources"][0]
    assert source["url"] == "http://localhost:8428"


def test_a_single_topology_builds_no_central_files():
    files = generate(load(ROOT / "obsgen.yaml"))
    assert not set(paths.TARGETS["central"]) & set(files)

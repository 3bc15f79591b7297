"""The compose stack is right for users with Docker: pinned images, loopback only, a real
Grafana password, and files that exist where the containers expect them. The stack files are
shipped in the package and written into a folder only where missing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from obsgen import paths as render
from obsgen.tools import stack_assets

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "stack"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((STACK / "docker-compose.yml").read_text())


def test_services(compose):
    # The demo is the installed obsgen, run as a local process beside the containers: no image
    # is built, so the file works in any folder, not only in a checkout of this repository.
    assert set(compose["services"]) == {"prometheus", "alertmanager", "grafana", "postgres"}
    assert compose["services"]["postgres"]["profiles"] == ["postgres"]  # only with --db postgres
    assert not any("build" in service for service in compose["services"].values())


def test_images_are_pinned(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        # PostgreSQL's releases are major.minor; the others' major.minor.patch
        release = r"\d+\.\d+" if name == "postgres" else r"v?\d+\.\d+\.\d+"
        assert repository and re.fullmatch(release, tag), f"{name}: {image}"


def test_everything_listens_on_loopback_only(compose):
    services = compose["services"]
    assert all(s.get("network_mode") == "host" and "ports" not in s for s in services.values())
    listen = "--web.listen-address=127.0.0.1:${OBSGEN_%s_PORT:-%d}"
    assert listen % ("PROMETHEUS", 9090) in services["prometheus"]["command"]
    assert listen % ("ALERTMANAGER", 9093) in services["alertmanager"]["command"]
    assert services["grafana"]["environment"]["GF_SERVER_HTTP_ADDR"] == "127.0.0.1"
    assert "listen_addresses=127.0.0.1" in services["postgres"]["command"]


def test_grafana_password_comes_from_the_env_file(compose):
    environment = compose["services"]["grafana"]["environment"]
    assert environment["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "stack/.env" in (ROOT / ".gitignore").read_text().split()
    assert (STACK / ".env.example").read_text().startswith("# Copy to stack/.env")


def test_mounted_files_exist(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (STACK / source).exists(), f"{name} mounts missing {source}"


def test_prometheus_finds_the_rules_inside_its_container(compose):
    volumes = compose["services"]["prometheus"]["volumes"]
    config_mount = next(v for v in volumes if v.endswith("/etc/prometheus/prometheus.yml:ro"))
    assert config_mount.startswith("./prometheus/prometheus.yml")
    mounts = {v.split(":")[1]: v.split(":")[0] for v in volumes}
    rule_files = yaml.safe_load((ROOT / render.PROMETHEUS).read_text())["rule_files"]
    for rule_file in rule_files:
        inside = Path("/etc/prometheus").joinpath(rule_file).resolve()
        folder = str(inside.parent)
        assert folder in mounts, f"{inside} is not mounted"
        assert (STACK / mounts[folder] / inside.name).exists()


def test_grafana_provisioning():
    datasource = yaml.safe_load(
        (STACK / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    assert (datasource["uid"], datasource["type"], datasource["isDefault"]) == (
        "prometheus",
        "prometheus",
        True,
    )
    provider = yaml.safe_load((STACK / "grafana/provisioning/dashboards/obsgen.yml").read_text())[
        "providers"
    ][0]
    assert provider["options"]["path"] == "${OBSGEN_DASHBOARDS_DIR}"


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool is not installed")
def test_alertmanager_config_is_valid():
    result = subprocess.run(
        ["amtool", "check-config", str(STACK / "alertmanager/alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_sends_to_no_address_where_nothing_listens():
    config = yaml.safe_load((STACK / "alertmanager/alertmanager.yml").read_text())
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    assert set(receivers) == {"llm-alerts"}
    assert set(receivers["llm-alerts"]) == {"name"}  # no integration until the user adds one


def _docker_engine() -> bool:
    from obsgen.tools.stack import docker_engine_answers

    return docker_engine_answers()


@pytest.mark.skipif(not _docker_engine(), reason="no Docker engine answers on this machine")
def test_docker_compose_config_accepts_the_file(tmp_path):
    env = {"GRAFANA_ADMIN_PASSWORD": "test-password-123"}
    result = subprocess.run(
        ["docker", "compose", "-f", str(STACK / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, **env},
    )
    assert result.returncode == 0, result.stderr


def test_the_repository_holds_the_shipped_stack_files():
    shipped = stack_assets.shipped()
    for relative, content in shipped.items():
        assert (ROOT / relative).read_text(encoding="utf-8") == content, relative
    assets = ROOT / "obsgen" / "tools" / "assets"
    on_disk = {str(path.relative_to(assets)) for path in assets.rglob("*") if path.is_file()}
    assert on_disk == set(shipped), "every file under assets/ must be listed in SHIPPED"


def test_missing_stack_files_are_written(tmp_path):
    installed = stack_assets.install_missing(tmp_path)
    assert set(installed.written) == set(stack_assets.shipped())
    assert installed.kept_differing == ()
    for relative, content in stack_assets.shipped().items():
        assert (tmp_path / relative).read_text(encoding="utf-8") == content
    assert not [p for p in tmp_path.rglob(".*") if p.name != ".env.example"], "temp files left"
    again = stack_assets.install_missing(tmp_path)
    assert again == stack_assets.Installed((), ())


def test_an_edited_stack_file_is_kept_and_named(tmp_path):
    compose = tmp_path / "stack/docker-compose.yml"
    compose.parent.mkdir(parents=True)
    compose.write_text("services: {}\n")
    installed = stack_assets.install_missing(tmp_path)
    assert installed.kept_differing == ("stack/docker-compose.yml",)
    assert "stack/docker-compose.yml" not in installed.written
    assert compose.read_text() == "services: {}\n"


def test_an_unwritable_folder_is_named(tmp_path):
    (tmp_path / "stack").write_text("a file where the folder should be")
    with pytest.raises(stack_assets.AssetError, match=r"cannot write .*stack"):
        stack_assets.install_missing(tmp_path)

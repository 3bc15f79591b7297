"""obsgen as a user gets it: a wheel installed into a fresh venv, run in an empty folder far from
this repository. ``obsgen init`` and ``obsgen stack up`` must work there, with the stack's files
coming from inside the package."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import venv
from pathlib import Path

import pytest

from tests.helpers import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "src", "obsgen")

if shutil.which("prometheus") is None:
    pytest.skip("prometheus is not installed", allow_module_level=True)


def _run(*command: str | Path, cwd: Path, timeout: float = 180) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh venv holding obsgen from a wheel (its dependencies are
    borrowed from the test environment, so nothing is downloaded)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name)
    wheels = tmp_path_factory.mktemp("wheels")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", wheels, source, cwd=source)  # fmt: skip
    (wheel,) = wheels.glob("obsgen-*.whl")
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                   cwd=env_dir).strip()  # fmt: skip
    Path(purelib, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "--quiet", wheel, cwd=env_dir)  # fmt: skip
    return env_dir / "bin"


def test_the_package_is_imported_from_the_wheel(installed, tmp_path):
    where = _run(installed / "python", "-c",
                 "import llmobs, obsgen; print(llmobs.__file__); print(obsgen.__file__)",
                 cwd=tmp_path)  # fmt: skip
    for module_file in where.split():
        assert Path(module_file).is_relative_to(installed.parent), module_file


def test_init_and_stack_up_in_an_empty_folder(installed, tmp_path):
    folder = tmp_path / "my-llm-service"
    folder.mkdir()
    obsgen = installed / "obsgen"
    _run(obsgen, "init", cwd=folder)
    demo, alertmanager, prometheus = free_port(), free_port(), free_port()
    config = folder / "obsgen.yaml"
    config.write_text(
        config.read_text()
        .replace('"localhost:8000"', f'"127.0.0.1:{demo}"')
        .replace('"localhost:9093"', f'"127.0.0.1:{alertmanager}"')
    )
    options = ("--mode", "local", "--prometheus-port", str(prometheus))
    try:
        up = _run(obsgen, "stack", "up", *options, "--no-grafana", "--demo-rate", "5", cwd=folder)
        assert "alertmanager ready" in up and "prometheus ready" in up and "demo ready" in up
        # Local processes without Grafana: none of the Docker or Grafana files are written.
        assert not (folder / "stack" / "grafana").exists(), up
        assert not (folder / "stack" / "docker-compose.yml").exists(), up
        url = f"http://127.0.0.1:{prometheus}/api/v1/rules"
        with urllib.request.urlopen(url, timeout=5) as response:
            groups = json.load(response)["data"]["groups"]
        assert any(rule["name"] == "LLMBudgetExceeded" for g in groups for rule in g["rules"])
        again = _run(obsgen, "stack", "up", *options, "--no-grafana", cwd=folder)
        assert "wrote" not in again
    finally:
        down = _run(obsgen, "stack", "down", *options, cwd=folder)
    assert sorted(down.split()) == sorted(
        ["stopped", "alertmanager", "stopped", "demo", "stopped", "prometheus"]
    )

"""The ``obsgen demo`` and ``obsgen stack`` commands: a demo LLM service, and Prometheus,
Alertmanager, Grafana and the demo run together locally."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from llmobs import CostStoreError
from llmobs.config_budgets import options_of
from obsgen import config as configuration
from obsgen import output, paths

from . import stack as stack_module
from . import stack_assets
from .options import UsageError, config_option, load_config, out_option, version


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port of /metrics (0 picks a free one).",
)
@click.option(
    "--rate",
    type=click.FloatRange(0, min_open=True, max=10_000),
    default=20.0,
    show_default=True,
    help="LLM requests per second.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option(
    "--service-version",
    "version",
    default=f"demo-{version()}",
    show_default=True,
    help="Version the demo reports in llm_build_info (a new one marks a deployment).",
)
@click.option(
    "--db",
    default=".obsgen/demo/costs.sqlite3",
    show_default=True,
    help="The demo's cost tracker database (':memory:' for none).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Concurrent callers.",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Share of each drawn latency actually spent waiting (1 = real time).",
)
@config_option
@click.option(
    "--duration",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Stop after this many seconds [default: run until stopped].",
)
@click.option("--burst", is_flag=True, help="Start with an error burst (also: SIGUSR1).")
@click.option("--spike", is_flag=True, help="Start with a spending spike (also: SIGUSR2).")
def demo(**options: Any) -> None:
    """Run a demo LLM service: agents of several teams calling OpenAI, Anthropic and Google
    models through llmobs, with cache hits, errors and real prices, serving /metrics.

    POST /control/burst or /control/spike (or send SIGUSR1 / SIGUSR2) for an error burst or a
    spending spike; /control/pause and /control/resume stop and restart the load;
    GET /status reports the totals. Its cost tracker takes its budgets from the config, as a
    service's would (CostTracker.from_config).
    """
    from . import demo as demo_service

    config_path = options.pop("config_path")
    if Path(config_path).exists():
        config = load_config(config_path)
    else:
        config = configuration.Config()
        click.echo(f"note: no {config_path}, so the demo uses the starter config's budgets")
    try:
        demo_service.run(**options, budgets=options_of(config.runtime))
    except OSError as exc:
        where = f"{options['host']}:{options['port']}"
        raise UsageError(f"cannot serve the demo on {where}: {exc.strerror}") from None
    except (CostStoreError, ValueError) as exc:  # a database it cannot use, or disagrees with
        raise UsageError(str(exc)) from None


@click.group()
def stack() -> None:
    """Run Prometheus, Alertmanager, Grafana and the demo locally (Docker or plain processes)."""


def _stack_options(function):
    options = [
        config_option,
        out_option,
        click.option(
            "--state-dir",
            default=".obsgen/stack",
            show_default=True,
            type=click.Path(file_okay=False),
            help="Data, logs and pid files of the local processes.",
        ),
        click.option(
            "--mode",
            type=click.Choice(["auto", "docker", "local"]),
            default="auto",
            show_default=True,
            help="docker compose, local processes, or docker when an engine answers.",
        ),
        click.option(
            "--prometheus-port", type=click.IntRange(1, 65535), default=9090, show_default=True
        ),
        click.option(
            "--grafana-port", type=click.IntRange(1, 65535), default=3000, show_default=True
        ),
        click.option(
            "--postgres-port",
            type=click.IntRange(1, 65535),
            default=5433,
            show_default=True,
            help="Port of the demo's PostgreSQL (with --db postgres).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _local_stack(
    config: configuration.Config,
    out_dir: str,
    state_dir: str,
    prometheus_port: int,
    grafana_port: int,
    postgres_port: int,
    **extra,
) -> stack_module.LocalStack:
    def port_of(target: str) -> int:
        return int(target.rsplit(":", 1)[1])

    ports = stack_module.Ports(
        prometheus=prometheus_port,
        grafana=grafana_port,
        alertmanager=port_of(config.prometheus.alertmanagers[0]),
        demo=port_of(config.prometheus.scrape.targets[0]),
        postgres=postgres_port,
    )
    root = Path(out_dir)
    state = Path(state_dir) if Path(state_dir).is_absolute() else root / state_dir
    return stack_module.LocalStack(root, state, ports, **extra)


def _compose(local: stack_module.LocalStack, *args: str) -> int:
    """``docker compose`` on the stack's compose file; its exit code, or one line if the
    stack's files cannot be used (a broken ``stack/.env``)."""
    try:
        return stack_module.compose(local.root, local.ports, *args)
    except stack_module.StackError as exc:
        raise UsageError(str(exc)) from None


def _use_docker(mode: str) -> bool:
    if mode == "auto":
        return stack_module.docker_engine_answers()
    if mode == "docker" and not stack_module.docker_engine_answers():
        raise UsageError("no Docker engine answers `docker info`; use --mode local")
    return mode == "docker"


@stack.command("up")
@_stack_options
@click.option("--no-grafana", is_flag=True, help="Do not start Grafana.")
@click.option(
    "--demo/--no-demo",
    default=True,
    show_default=True,
    help="Start the demo LLM service as the scrape target.",
)
@click.option(
    "--demo-rate",
    type=click.FloatRange(0, min_open=True),
    default=20.0,
    show_default=True,
    help="Requests per second of the demo.",
)
@click.option(
    "--db",
    type=click.Choice(["sqlite", "postgres"]),
    default="sqlite",
    show_default=True,
    help="Where the demo's cost tracker keeps its costs: a SQLite file, or a PostgreSQL server "
    "the stack runs (as a fleet's replicas would share).",
)
def stack_up(
    config_path: str,
    out_dir: str,
    state_dir: str,
    mode: str,
    prometheus_port: int,
    grafana_port: int,
    postgres_port: int,
    no_grafana: bool,
    demo: bool,
    demo_rate: float,
    db: str,
) -> None:
    """Generate the files, start the stack, wait until it is ready and print its URLs."""
    config = load_config(config_path)
    files = output.generate(config, "all")
    changed = frozenset(output.differing(files, Path(out_dir)))
    try:
        output.write_all(Path(out_dir), files)
    except output.OutputError as exc:
        raise UsageError(f"{exc}; no file was replaced") from None
    docker = _use_docker(mode)
    parts = (("docker",) if docker else ()) + (() if no_grafana else ("grafana",))
    _install_stack_files(Path(out_dir), parts)
    target = config.prometheus.scrape.targets[0]
    if demo and target.rsplit(":", 1)[0] not in ("localhost", "127.0.0.1"):
        click.echo(
            f"note: Prometheus scrapes {target} (prometheus.scrape.targets), not the demo "
            "on 127.0.0.1; use a localhost target to watch the demo"
        )
    local = _local_stack(
        config,
        out_dir,
        state_dir,
        prometheus_port,
        grafana_port,
        postgres_port,
        demo_args=("--rate", str(demo_rate), "--config", str(Path(config_path).resolve())),
        with_demo=demo,
        with_grafana=not no_grafana,
        with_servers=not docker,
        with_postgres=db == "postgres",
    )
    if docker:
        servers = ["prometheus", "alertmanager", *(() if no_grafana else ("grafana",))]
        servers += ["postgres"] if db == "postgres" else []
        click.echo(f"starting {', '.join(servers)} with docker compose")
        profile = ("--profile", "postgres") if db == "postgres" else ()
        if _compose(local, *profile, "up", "-d", *servers) != 0:
            raise UsageError("docker compose up failed (see its output above)")
    try:
        components = local.up(echo=click.echo, changed=changed)
    except stack_module.StackError as exc:
        raise UsageError(str(exc)) from None
    names = {component.name for component in components} | (
        {"grafana"} if docker and not no_grafana else set()
    )
    if "grafana" not in names and not no_grafana:
        click.echo(
            "grafana-server is not on PATH, so Grafana was not started: import "
            f"{paths.DASHBOARD} into a Grafana of yours, or run `obsgen stack up --mode "
            "docker` where a Docker engine runs"
        )
    _print_urls(
        local.ports,
        Path(out_dir),
        config.dashboard.uid,
        grafana="grafana" in names,
        demo="demo" in names,
        cost_db=local.cost_db(),
    )


def _install_stack_files(root: Path, parts: tuple[str, ...]) -> None:
    """Write the shipped stack files of ``parts`` that are missing under ``root``, and say
    which."""
    try:
        installed = stack_assets.install_missing(root, parts)
    except stack_assets.AssetError as exc:
        raise UsageError(str(exc)) from None
    for relative in installed.written:
        click.echo(f"wrote {root / relative}")
    for relative in installed.kept_differing:
        click.echo(
            f"note: kept your {root / relative}, which differs from the one this obsgen ships "
            "(move it away to get the shipped one)"
        )


def _print_urls(
    ports: stack_module.Ports,
    root: Path,
    dashboard_uid: str,
    *,
    grafana: bool,
    demo: bool = True,
    cost_db: str | None = None,
) -> None:
    click.echo("")
    click.echo(f"Prometheus    http://127.0.0.1:{ports.prometheus}  (alerts: /alerts)")
    click.echo(f"Alertmanager  http://127.0.0.1:{ports.alertmanager}")
    if grafana:
        click.echo(
            f"Grafana       http://127.0.0.1:{ports.grafana}/d/{dashboard_uid}  (user admin, "
            f"password in {root / stack_module.ENV_FILE})"
        )
    if demo:
        click.echo(
            f"Demo service  http://127.0.0.1:{ports.demo}/metrics  "
            f"(POST /control/burst or /control/spike)"
        )
        if cost_db is not None:
            click.echo(f"Demo costs    {own_command()} costs --db {shlex.quote(cost_db)}")
    click.echo(f"Stop it with  {own_command()} stack down")


def own_command() -> str:
    """This obsgen as a shell command that works as printed: ``obsgen`` when the PATH finds
    this very one, else its full path (a venv not activated), else ``python -m obsgen``."""
    script = Path(sys.argv[0]) if sys.argv and Path(sys.argv[0]).name == "obsgen" else None
    if script is not None and script.exists():
        on_path = shutil.which("obsgen")
        if on_path is not None and Path(on_path).resolve() == script.resolve():
            return "obsgen"
        return shlex.quote(str(script.resolve()))
    return f"{shlex.quote(sys.executable)} -m obsgen"


@stack.command("down")
@_stack_options
def stack_down(
    config_path: str,
    out_dir: str,
    state_dir: str,
    mode: str,
    prometheus_port: int,
    grafana_port: int,
    postgres_port: int,
) -> None:
    """Stop the stack."""
    config = load_config(config_path)
    local = _local_stack(config, out_dir, state_dir, prometheus_port, grafana_port, postgres_port)
    if _use_docker(mode) and _compose(local, "down") != 0:
        raise UsageError("docker compose down failed (see its output above)")
    if not local.down(echo=click.echo):
        click.echo("no local process was running")


@stack.command("status")
@_stack_options
def stack_status(
    config_path: str,
    out_dir: str,
    state_dir: str,
    mode: str,
    prometheus_port: int,
    grafana_port: int,
    postgres_port: int,
) -> None:
    """Show which parts of the stack run and answer."""
    docker = _use_docker(mode)
    local = _local_stack(
        load_config(config_path),
        out_dir,
        state_dir,
        prometheus_port,
        grafana_port,
        postgres_port,
        with_servers=not docker,
    )
    if docker:
        _compose(local, "ps")
    try:
        rows = local.status()
    except stack_module.StackError as exc:
        raise UsageError(str(exc)) from None
    for name, running, ready, url in rows:
        state = "ready" if ready else "running, not ready" if running else "stopped"
        click.echo(f"{name:<13} {state:<19} {url}")
    if not any(running for _, running, _, _ in rows):
        sys.exit(3)


def register(group: click.Group) -> None:
    """Add the demo and stack commands to the ``obsgen`` command group."""
    group.add_command(demo)
    group.add_command(stack)

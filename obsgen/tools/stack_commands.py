"""The ``obsgen demo`` and ``obsgen stack`` commands: a demo LLM service, and Prometheus,
Alertmanager, Grafana and the demo run together locally."""

from __future__ import annotations

import dataclasses
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from llmobs import CostStoreError
from llmobs.config_budgets import options_of
from obsgen import config as configuration
from obsgen import output, paths, plan
from obsgen.config.model import TOPOLOGIES
from obsgen.plan.servers import VMALERT_PORT

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


#: Scrape targets on these hosts are the stack's demo replicas.
LOCAL_HOSTS = ("localhost", "127.0.0.1")


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
        click.option(
            "--topology",
            type=click.Choice(TOPOLOGIES),
            default=None,
            help="One Prometheus, or HA scrapers writing into VictoriaMetrics with vmalert "
            "[default: what runs, else topology.kind of the config].",
        ),
        click.option(
            "--vmalert-port",
            type=click.IntRange(1, 65535),
            default=VMALERT_PORT,
            show_default=True,
            help="Port of vmalert (central topology).",
        ),
        click.option(
            "--scraper-port",
            type=click.IntRange(1, 65535),
            default=None,
            help="Port of the first scraper, the others on the ports after it (central "
            "topology) [default: 9090 for Prometheus, 8429 for vmagent].",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _with_topology(config: configuration.Config, topology: str | None) -> configuration.Config:
    """``config`` run in ``topology`` (its own if None)."""
    if topology is None or topology == config.topology.kind:
        return config
    return dataclasses.replace(config, topology=dataclasses.replace(config.topology, kind=topology))


def _local_stack(
    config: configuration.Config,
    out_dir: str,
    state_dir: str,
    ports: dict[str, int | None],
    **extra,
) -> stack_module.LocalStack:
    def port_of(target: str) -> int:
        return int(target.rsplit(":", 1)[1])

    local_targets = [
        port_of(target)
        for target in config.prometheus.scrape.targets
        if target.rsplit(":", 1)[0] in LOCAL_HOSTS
    ]
    first_target = port_of(config.prometheus.scrape.targets[0])
    try:
        servers = plan.build(config).servers
    except configuration.ConfigError as exc:
        raise UsageError(str(exc)) from None
    stack_ports = stack_module.Ports(
        prometheus=ports["prometheus_port"] or 9090,
        grafana=ports["grafana_port"] or 3000,
        alertmanager=port_of(config.prometheus.alertmanagers[0]),
        demo=first_target,
        postgres=ports["postgres_port"] or 5433,
        demo_replicas=tuple(port for port in local_targets if port != first_target),
        vmalert=ports["vmalert_port"] or VMALERT_PORT,
        scraper=ports["scraper_port"],
    )
    root = Path(out_dir)
    state = Path(state_dir) if Path(state_dir).is_absolute() else root / state_dir
    return stack_module.LocalStack(root, state, stack_ports, servers=servers, **extra)


def _running_topology(out_dir: str, state_dir: str) -> str | None:
    """The topology of the local processes a stack started in ``state_dir``, None if none
    runs."""
    state = Path(state_dir) if Path(state_dir).is_absolute() else Path(out_dir) / state_dir
    names = {path.stem for path in state.glob("*.pid")} if state.is_dir() else set()
    if any(stack_module.kind_of(name) in ("vmalert", "scraper") for name in names):
        return "central"
    return "single" if names else None


def _compose(local: stack_module.LocalStack, *args: str) -> int:
    """``docker compose`` on the stack's compose file; its exit code, or one line if the
    stack's files cannot be used (a broken ``stack/.env``)."""
    try:
        return stack_module.compose(local, *args)
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
    topology: str | None,
    no_grafana: bool,
    demo: bool,
    demo_rate: float,
    db: str,
    **ports: int | None,
) -> None:
    """Generate the files, start the stack, wait until it is ready and print its URLs."""
    running = _running_topology(out_dir, state_dir)
    if running is not None and topology not in (None, running):
        raise UsageError(f"the {running} topology runs here: stop it first (`obsgen stack down`)")
    config = _with_topology(load_config(config_path), topology or running)
    local = _local_stack(
        config,
        out_dir,
        state_dir,
        ports,
        demo_args=("--rate", str(demo_rate), "--config", str(Path(config_path).resolve())),
        with_demo=demo,
        with_grafana=not no_grafana,
        with_postgres=db == "postgres",
    )
    docker = _use_docker(mode)
    if docker and local.central and db == "postgres":
        raise UsageError("--db postgres runs with the local processes: add --mode local")
    files = output.generate(config, "all")
    if no_grafana:  # Grafana's provisioning is written only where Grafana may run
        files.pop(paths.DATASOURCE, None)
    changed = frozenset(output.differing(files, Path(out_dir)))
    try:
        output.write_all(Path(out_dir), files)
    except output.OutputError as exc:
        raise UsageError(f"{exc}; no file was replaced") from None
    parts = (("docker",) if docker else ()) + (() if no_grafana else ("grafana",))
    _install_stack_files(Path(out_dir), parts)
    target = config.prometheus.scrape.targets[0]
    if demo and target.rsplit(":", 1)[0] not in LOCAL_HOSTS:
        click.echo(
            f"note: the stack scrapes {target} (prometheus.scrape.targets), not the demo "
            "on 127.0.0.1; use a localhost target to watch the demo"
        )
    local.with_servers = not docker
    if docker:
        servers = _compose_services(local, with_grafana=not no_grafana, db=db)
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
        local,
        config.dashboard.uid,
        grafana="grafana" in names,
        demo="demo" in names,
    )


def _compose_services(local: stack_module.LocalStack, *, with_grafana: bool, db: str) -> list[str]:
    """The services of the compose file to start."""
    grafana = ["grafana"] if with_grafana else []
    if local.central:
        servers = local.servers
        scrapers = [f"scraper-{index + 1}" for index in range(servers.topology.scrapers)]
        store = ["victoria-metrics"] if servers.runs_store else []
        return [*store, "vmalert", *scrapers, "alertmanager", *grafana]
    return ["prometheus", "alertmanager", *grafana, *(["postgres"] if db == "postgres" else [])]


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
    local: stack_module.LocalStack, dashboard_uid: str, *, grafana: bool, demo: bool = True
) -> None:
    ports, root = local.ports, local.root
    click.echo("")
    if local.central:
        servers = local.servers
        click.echo(f"Store         {local.query_url}  (VictoriaMetrics: /vmui)")
        click.echo(f"vmalert       http://127.0.0.1:{ports.vmalert}  (alerts: /vmalert/alerts)")
        first = ports.scraper if ports.scraper is not None else servers.scraper_port
        last = first + servers.topology.scrapers - 1
        click.echo(
            f"Scrapers      {servers.topology.scrapers} x {servers.topology.scraper} on "
            f"127.0.0.1:{first}" + (f"-{last}" if last > first else "")
        )
    else:
        click.echo(f"Prometheus    http://127.0.0.1:{ports.prometheus}  (alerts: /alerts)")
    click.echo(f"Alertmanager  http://127.0.0.1:{ports.alertmanager}")
    if grafana:
        click.echo(
            f"Grafana       http://127.0.0.1:{ports.grafana}/d/{dashboard_uid}  (user admin, "
            f"password in {root / stack_module.ENV_FILE})"
        )
    if demo:
        replicas = "".join(f", :{port}" for port in ports.demo_replicas)
        click.echo(
            f"Demo service  http://127.0.0.1:{ports.demo}/metrics{replicas}  "
            f"(POST /control/burst or /control/spike)"
        )
        click.echo(f"Demo costs    {own_command()} costs --db {shlex.quote(local.cost_db())}")
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


def _existing_stack(
    config_path: str,
    out_dir: str,
    state_dir: str,
    topology: str | None,
    ports: dict[str, int | None],
    **extra: bool,
) -> stack_module.LocalStack:
    """The stack ``stack down`` and ``stack status`` look at: the topology asked for, else the
    one that runs, else the config's."""
    chosen = topology or _running_topology(out_dir, state_dir)
    config = _with_topology(load_config(config_path), chosen)
    return _local_stack(config, out_dir, state_dir, ports, **extra)


@stack.command("down")
@_stack_options
def stack_down(
    config_path: str, out_dir: str, state_dir: str, mode: str, topology: str | None, **ports
) -> None:
    """Stop the stack."""
    local = _existing_stack(config_path, out_dir, state_dir, topology, ports)
    if _use_docker(mode) and _compose(local, "down") != 0:
        raise UsageError("docker compose down failed (see its output above)")
    if not local.down(echo=click.echo):
        click.echo("no local process was running")


@stack.command("status")
@_stack_options
def stack_status(
    config_path: str, out_dir: str, state_dir: str, mode: str, topology: str | None, **ports
) -> None:
    """Show which parts of the stack run and answer."""
    docker = _use_docker(mode)
    local = _existing_stack(
        config_path, out_dir, state_dir, topology, ports, with_servers=not docker
    )
    if docker:
        _compose(local, "ps")
    try:
        rows = local.status()
    except stack_module.StackError as exc:
        raise UsageError(str(exc)) from None
    for name, running, ready, url in rows:
        state = "ready" if ready else "running, not ready" if running else "stopped"
        click.echo(f"{name:<17} {state:<19} {url}")
    if not any(running for _, running, _, _ in rows):
        sys.exit(3)


def register(group: click.Group) -> None:
    """Add the demo and stack commands to the ``obsgen`` command group."""
    group.add_command(demo)
    group.add_command(stack)

"""The obsgen command line: build, validate, init and costs."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from llmobs import CostStoreError, CostTracker
from llmobs.store import default_path

from . import build as builder
from . import config as configuration
from . import promtool, render
from . import stack as stack_module
from .costs_report import FORMATS, GROUPINGS, CostReport

TARGET_CHOICES = ["all", *render.TARGETS]
STARTER_CONFIG = Path(__file__).parent / "templates" / "obsgen.yaml"

config_option = click.option(
    "-c",
    "--config",
    "config_path",
    default=configuration.DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The obsgen config file.",
)
out_option = click.option(
    "-o",
    "--out",
    "out_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The folder the generated files live under (the repository root).",
)


class UsageError(click.ClickException):
    """A one-line error, exit code 2, as every obsgen error is."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"obsgen: error: {self.message}", err=True)


def _load(path: str) -> configuration.Config:
    """The config, or every issue on its own line and exit code 2."""
    try:
        return configuration.load(path)
    except configuration.ConfigError as exc:
        for issue in exc.issues[:-1]:
            click.echo(f"obsgen: error: {issue}", err=True)
        raise UsageError(str(exc.issues[-1])) from None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("obsgen")
    except PackageNotFoundError:
        return "dev"


def _parse_day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-27") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="obsgen", prog_name="obsgen")
def cli() -> None:
    """LLM observability as code: metrics, costs, dashboards and alert rules."""


@cli.command()
@click.argument("target", type=click.Choice(TARGET_CHOICES), default="all")
@config_option
@out_option
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 naming every file that differs from what the config "
    "generates (for CI).",
)
def build(target: str, config_path: str, out_dir: str, check: bool) -> None:
    """Generate the dashboard, Prometheus config, rules and rule tests from the config.

    TARGET is dashboards, alerts, prometheus or all. The output is byte-identical across runs,
    and each file is written atomically.
    """
    files = builder.generate(_load(config_path), target)
    root = Path(out_dir)
    if not check:
        for relative, content in files.items():
            builder.write_atomically(root / relative, content)
            click.echo(f"wrote {root / relative}")
        return
    drift = builder.differing(files, root)
    for path in drift:
        click.echo(f"obsgen: {path} differs from what {config_path} generates", err=True)
    if drift:
        click.echo("obsgen: run `obsgen build` and commit the result", err=True)
        sys.exit(1)
    click.echo(f"{len(files)} generated files are up to date")


@cli.command()
@config_option
@out_option
def validate(config_path: str, out_dir: str) -> None:
    """Check the config; with promtool on PATH, also check the generated Prometheus config and
    rules and run the alert unit tests."""
    files = builder.generate(_load(config_path), "all")
    click.echo(f"{config_path}: valid")
    if promtool.available() is None:
        click.echo(
            "promtool is not on PATH, so the Prometheus checks were skipped "
            "(`apt-get install prometheus` provides it)"
        )
        return
    root = Path(out_dir)
    drift = builder.differing(files, root)
    if drift:
        raise UsageError(
            f"{', '.join(drift)}: not what {config_path} generates; run `obsgen build` first"
        )
    failures = 0
    for step, ok, output in promtool.check_all(
        root,
        render.PROMETHEUS,
        [render.RECORDING_RULES, render.ALERT_RULES],
        [render.ALERT_TESTS],
    ):
        click.echo(f"{'ok  ' if ok else 'FAIL'} {step}")
        if not ok:
            failures += 1
            click.echo(output, err=True)
    if failures:
        sys.exit(1)


@cli.command()
@click.option(
    "-o",
    "--output",
    "path",
    default=configuration.DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Where to write the starter config.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented starter config."""
    target = Path(path)
    if target.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    builder.write_atomically(target, STARTER_CONFIG.read_text(encoding="utf-8"))
    click.echo(f"wrote {path}; edit it, then run `obsgen build`")


@cli.command()
@click.option(
    "--period",
    type=click.Choice(["day", "week", "month"]),
    default="day",
    show_default=True,
    help="The day, week (Monday to Sunday) or month to report.",
)
@click.option(
    "--by",
    "by",
    type=click.Choice(GROUPINGS),
    default="agent",
    show_default=True,
    help="How to break the spend down.",
)
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False),
    default=None,
    help="The cost tracker's SQLite file [default: $LLMOBS_COST_DB or "
    "~/.local/share/llmobs/costs.sqlite3].",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option(
    "--date",
    "day",
    callback=_parse_day,
    metavar="YYYY-MM-DD",
    help="A day in the period to report [default: today].",
)
def costs(period: str, by: str, db: str | None, fmt: str, day: date | None) -> None:
    """Print LLM spend from a cost tracker's database, with the budget and percent used."""
    path = db or default_path()
    try:
        tracker = CostTracker(path, read_only=True)
    except CostStoreError as exc:
        raise UsageError(str(exc)) from None
    try:
        click.echo(CostReport.build(tracker, period, by, day).render(fmt), nl=False)
    finally:
        tracker.close()


@cli.command()
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
    default=f"demo-{_version()}",
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
@click.option(
    "--daily-budget",
    type=click.FloatRange(0, min_open=True),
    default=100.0,
    show_default=True,
    help="The demo tracker's daily budget in USD.",
)
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
    GET /status reports the totals.
    """
    from . import demo as demo_service

    try:
        demo_service.run(**options)
    except OSError as exc:
        where = f"{options['host']}:{options['port']}"
        raise UsageError(f"cannot serve the demo on {where}: {exc.strerror}") from None
    except CostStoreError as exc:
        raise UsageError(str(exc)) from None


@cli.group()
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
    **extra,
) -> stack_module.LocalStack:
    def port_of(target: str) -> int:
        return int(target.rsplit(":", 1)[1])

    ports = stack_module.Ports(
        prometheus=prometheus_port,
        grafana=grafana_port,
        alertmanager=port_of(config.prometheus.alertmanagers[0]),
        demo=port_of(config.prometheus.scrape.targets[0]),
    )
    root = Path(out_dir)
    state = Path(state_dir) if Path(state_dir).is_absolute() else root / state_dir
    return stack_module.LocalStack(root, state, ports, **extra)


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
def stack_up(
    config_path: str,
    out_dir: str,
    state_dir: str,
    mode: str,
    prometheus_port: int,
    grafana_port: int,
    no_grafana: bool,
    demo: bool,
    demo_rate: float,
) -> None:
    """Generate the files, start the stack, wait until it is ready and print its URLs."""
    config = _load(config_path)
    for relative, content in builder.generate(config, "all").items():
        builder.write_atomically(Path(out_dir) / relative, content)
    if _use_docker(mode):
        click.echo("starting the stack with docker compose")
        if stack_module.compose(Path(out_dir), "up", "-d", "--build") != 0:
            raise UsageError("docker compose up failed (see its output above)")
        _print_urls(stack_module.Ports(), Path(out_dir), grafana=True)
        return
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
        demo_args=("--rate", str(demo_rate)),
        with_demo=demo,
        with_grafana=not no_grafana,
    )
    try:
        components = local.up(echo=click.echo)
    except stack_module.StackError as exc:
        raise UsageError(str(exc)) from None
    names = {component.name for component in components}
    if "grafana" not in names and not no_grafana:
        click.echo(
            "grafana-server is not on PATH, so Grafana was not started: import "
            "dashboards/llm_usage_dashboard.json into a Grafana of yours, or use the "
            "Docker stack (stack/docker-compose.yml)"
        )
    _print_urls(
        local.ports,
        Path(out_dir),
        grafana="grafana" in names,
        demo="demo" in names,
        state=local.state,
    )


def _print_urls(
    ports: stack_module.Ports,
    root: Path,
    *,
    grafana: bool,
    demo: bool = True,
    state: Path | None = None,
) -> None:
    click.echo("")
    click.echo(f"Prometheus    http://127.0.0.1:{ports.prometheus}  (alerts: /alerts)")
    click.echo(f"Alertmanager  http://127.0.0.1:{ports.alertmanager}")
    if grafana:
        click.echo(
            f"Grafana       http://127.0.0.1:{ports.grafana}/d/llm-usage  (user admin, "
            f"password in {root / stack_module.ENV_FILE})"
        )
    if demo:
        click.echo(
            f"Demo service  http://127.0.0.1:{ports.demo}/metrics  "
            f"(POST /control/burst or /control/spike)"
        )
        if state is not None:
            click.echo(f"Demo costs    obsgen costs --db {state / 'demo-costs.sqlite3'}")
    click.echo("Stop it with  obsgen stack down")


@stack.command("down")
@_stack_options
def stack_down(
    config_path: str,
    out_dir: str,
    state_dir: str,
    mode: str,
    prometheus_port: int,
    grafana_port: int,
) -> None:
    """Stop the stack."""
    if _use_docker(mode):
        sys.exit(stack_module.compose(Path(out_dir), "down"))
    config = _load(config_path)
    local = _local_stack(config, out_dir, state_dir, prometheus_port, grafana_port)
    if not local.down(echo=click.echo):
        click.echo("nothing was running")


@stack.command("status")
@_stack_options
def stack_status(
    config_path: str,
    out_dir: str,
    state_dir: str,
    mode: str,
    prometheus_port: int,
    grafana_port: int,
) -> None:
    """Show which parts of the stack run and answer."""
    if _use_docker(mode):
        sys.exit(stack_module.compose(Path(out_dir), "ps"))
    local = _local_stack(_load(config_path), out_dir, state_dir, prometheus_port, grafana_port)
    try:
        rows = local.status()
    except stack_module.StackError as exc:
        raise UsageError(str(exc)) from None
    for name, running, ready, url in rows:
        state = "ready" if ready else "running, not ready" if running else "stopped"
        click.echo(f"{name:<13} {state:<19} {url}")
    if not any(running for _, running, _, _ in rows):
        sys.exit(3)


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``obsgen`` command: errors are one line and exit with code 2."""
    try:
        code = cli.main(args=args, prog_name="obsgen", standalone_mode=False)
    except click.UsageError as exc:
        where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
        click.echo(f"obsgen: error: {where}{exc.format_message()}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.Abort):
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()

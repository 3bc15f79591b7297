"""The obsgen command line: build, validate, init and costs."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from llmobs import CostStoreError, CostTracker
from llmobs.store import default_path

from . import build as builder
from . import config as configuration
from . import promtool, render
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

"""The obsgen command line: build, validate, init and costs."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from llmobs import CostStoreError, CostTracker
from llmobs.attribution import attribution_keys
from llmobs.store import default_path
from obsgen import config as configuration
from obsgen import output, paths

from . import chargeback_command, prices_command, promtool, stack_commands
from .costs_report import FORMATS, GROUPINGS, TABLE_ROWS, CostReport
from .options import (
    UsageError,
    config_option,
    db_option,
    load_config,
    optional_config_option,
    out_option,
    runtime_config,
)

TARGET_CHOICES = ["all", *paths.TARGETS]
STARTER_CONFIG = Path(configuration.__file__).parent / "starter.yaml"


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
@click.argument("target", type=click.Choice(TARGET_CHOICES), required=False)
@click.option(
    "--target",
    "target_option",
    type=click.Choice(TARGET_CHOICES),
    help="The same as TARGET.",
)
@config_option
@out_option
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 naming every file that differs from what the config "
    "generates (for CI).",
)
def build(
    target: str | None, target_option: str | None, config_path: str, out_dir: str, check: bool
) -> None:
    """Generate the dashboard, Prometheus config, rules and rule tests from the config.

    TARGET is dashboards, alerts, prometheus, alertmanager, central (the central topology's
    scraper config, compose file and Grafana data source), kubernetes (the
    prometheus-operator's objects) or all (the default: every file the config asks for). The
    output is byte-identical across runs, and each file is written atomically.
    """
    if target and target_option and target != target_option:
        raise UsageError(f"two targets given, {target} and {target_option}: give one")
    target = target or target_option or "all"
    config = load_config(config_path)
    if target == "central" and not config.topology.central:
        raise UsageError(
            f"{config_path}: topology.kind is {config.topology.kind}; the central files are "
            "built for topology.kind: central"
        )
    if target == "kubernetes" and config.kubernetes is None:
        raise UsageError(
            f"{config_path}: has no kubernetes section; add one (`kubernetes: {{namespace: "
            "llm}`, see docs/kubernetes.md) to build the prometheus-operator's objects"
        )
    files = output.generate(config, target)
    root = Path(out_dir)
    if not check:
        try:
            output.write_all(root, files)
        except output.OutputError as exc:
            raise UsageError(f"{exc}; no file was replaced") from None
        for relative in files:
            click.echo(f"wrote {root / relative}")
        return
    drift = output.differing(files, root)
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
    rules and run the alert unit tests (and with amtool, the Alertmanager config)."""
    config = load_config(config_path)
    files = output.generate(config, "all")
    click.echo(f"{config_path}: valid")
    if promtool.available() is None:
        click.echo(
            "promtool is not on PATH, so the Prometheus checks were skipped "
            "(`apt-get install prometheus` provides it)"
        )
        return
    root = Path(out_dir)
    drift = output.differing(files, root)
    if drift:
        raise UsageError(
            f"{', '.join(drift)}: not what {config_path} generates; run `obsgen build` first"
        )
    failures = 0
    checks = promtool.check_all(
        root,
        paths.PROMETHEUS,
        [paths.RECORDING_RULES, paths.ALERT_RULES],
        list(paths.ALERT_TEST_FILES),
    ) + promtool.check_alertmanager(root, paths.ALERTMANAGER)
    if config.topology.central:
        checks += promtool.check_central(
            root, config.topology.scraper, paths.SCRAPER, list(paths.RULE_FILES)
        )
    if config.kubernetes is not None:
        checks += promtool.check_prometheus_rule(root, paths.KUBERNETES_RULES)
    for step, ok, printed in checks:
        click.echo(f"{'ok  ' if ok else 'FAIL'} {step}")
        if not ok:
            failures += 1
            click.echo(printed, err=True)
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
    try:
        output.write_atomically(target, STARTER_CONFIG.read_text(encoding="utf-8"))
    except output.OutputError as exc:
        raise UsageError(str(exc)) from None
    click.echo(f"wrote {path}; edit it, then run `obsgen build`")


@cli.group(invoke_without_command=True)
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
    default="agent",
    show_default=True,
    metavar="DIMENSION",
    help=f"How to break the spend down: {', '.join(GROUPINGS)}, or an attribution tag "
    "(customer, user, feature, environment, or a key of the config's attribution.keys).",
)
@db_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the same as --format json).")
@click.option(
    "--date",
    "day",
    callback=_parse_day,
    metavar="YYYY-MM-DD",
    help="A day in the period to report [default: today].",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=None,
    help=f"List the N biggest spenders [default: {TABLE_ROWS} in a table, all in JSON and CSV].",
)
@click.option("--all", "every", is_flag=True, help="List every one, however many.")
@optional_config_option("whose team and agent budgets are shown beside their spend")
@click.pass_context
def costs(
    ctx: click.Context,
    period: str,
    by: str,
    db: str | None,
    fmt: str,
    as_json: bool,
    day: date | None,
    limit: int | None,
    every: bool,
    config_path: str | None,
) -> None:
    """Print LLM spend from a cost tracker's database: the period's total and budget first,
    then its biggest spenders, each beside its own budget. `obsgen costs report` writes a
    month's chargeback report."""
    if ctx.invoked_subcommand is not None:
        return
    fmt = "json" if as_json else fmt
    if every:
        limit = None
    elif limit is None and fmt == "table":
        limit = TABLE_ROWS
    runtime = runtime_config(config_path)
    budgets = None if runtime is None else runtime.budgets
    keys = () if runtime is None else runtime.attribution_keys
    known = [*GROUPINGS, *sorted(attribution_keys(keys))]
    if by not in known:
        raise UsageError(
            f"obsgen costs: Invalid value for '--by': {by!r} is not one of {', '.join(known)}"
        )
    try:
        tracker = CostTracker(db or default_path(), read_only=True, attribution_keys=keys)
        try:
            report = CostReport.build(tracker, period, by, day, limit=limit, budgets=budgets)
        finally:
            tracker.close()
    except (CostStoreError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    click.echo(report.render(fmt), nl=False)


stack_commands.register(cli)
prices_command.register(cli)
chargeback_command.register(costs)


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

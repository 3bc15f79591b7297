"""The obsgen command line."""

from __future__ import annotations

import sys
from datetime import date

import click

from llmobs import CostStoreError, CostTracker
from llmobs.store import default_path

from .costs_report import FORMATS, GROUPINGS, CostReport


class UsageError(click.ClickException):
    """A one-line error, exit code 2, as every obsgen error is."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"obsgen: error: {self.message}", err=True)


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

"""``obsgen costs report``: a month's chargeback report, as CSV and a page with charts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from llmobs import CostStoreError, CostTracker
from llmobs.store import default_path
from obsgen import output

from . import chargeback_page
from .chargeback import Chargeback, parse_month
from .options import UsageError, db_option, optional_config_option, runtime_config


def _month(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return parse_month(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option(
    "--period",
    "month",
    callback=_month,
    metavar="YYYY-MM",
    help="The month to report [default: this month].",
)
@click.option(
    "--by",
    default="customer",
    show_default=True,
    help="The attribution tag to charge back by: customer, user, feature, environment, or a "
    "key of the config's attribution.keys.",
)
@db_option
@click.option(
    "-o",
    "--output",
    "folder",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="The folder the report's .csv and .html are written to.",
)
@optional_config_option("whose attribution keys may be charged back by")
def report(
    month: date | None, by: str, db: str | None, folder: str, config_path: str | None
) -> None:
    """Write a month's chargeback report: every value's spend as CSV, and a page with charts
    (spend per day, top values, models per value) that opens without a server."""
    runtime = runtime_config(config_path)
    keys = () if runtime is None else runtime.attribution_keys
    try:
        tracker = CostTracker(db or default_path(), read_only=True, attribution_keys=keys)
        try:
            first = month or tracker.get_daily_summary().date.replace(day=1)
            built = Chargeback.build(tracker, by, first)
        finally:
            tracker.close()
    except (CostStoreError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    stem = Path(folder) / f"chargeback-{by}-{built.month}"
    try:
        output.write_atomically(stem.with_suffix(".csv"), built.csv())
        output.write_atomically(stem.with_suffix(".html"), chargeback_page.render(built))
    except output.OutputError as exc:
        raise UsageError(str(exc)) from None
    click.echo(
        f"{built.total_usd:.2f} USD in {built.month} ({built.untagged_usd:.2f} USD untagged), "
        f"{len(built.rows)} {by} values: wrote {stem}.csv and {stem}.html"
    )


def register(costs: click.Group) -> None:
    """Add ``report`` to the ``obsgen costs`` group."""
    costs.add_command(report)

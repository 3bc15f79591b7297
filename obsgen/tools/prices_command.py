"""``obsgen prices update``: fetch genai-prices' published data into the file services read."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import click

from llmobs.price_data import (
    BUNDLED,
    MAX_PRICE_DATA_BYTES,
    PRICE_DATA_ENV,
    PriceData,
    bundled_price_data,
    load_price_data,
    parse_providers,
    price_data_document,
)
from llmobs.price_overrides import PriceFileError
from obsgen import config as configuration
from obsgen import output
from obsgen.config.model import Prices

from . import price_diff
from .options import UsageError, optional_config_option

FETCH_TIMEOUT_SECONDS = 30
#: The share of the models priced now that fetched data may lack before it is refused as
#: truncated or the wrong file (unless --force).
MAX_REMOVED_SHARE = 0.1


def _settings(config_path: str | None) -> Prices:
    """The config's ``prices`` section, or its defaults when there is no config."""
    if config_path is None and not Path(configuration.DEFAULT_CONFIG).exists():
        return Prices()
    try:
        return configuration.load(config_path or configuration.DEFAULT_CONFIG).prices
    except configuration.ConfigError as exc:
        raise UsageError(str(exc.issues[0])) from None


def fetch(url: str) -> list[object]:
    """genai-prices' provider list at ``url``; UsageError saying why it cannot be had."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--url: must be an http:// or https:// URL, got {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as answer:
            body = answer.read(MAX_PRICE_DATA_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise UsageError(f"cannot fetch {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UsageError(f"cannot fetch {url}: {reason}") from None
    if len(body) > MAX_PRICE_DATA_BYTES:
        raise UsageError(f"{url}: larger than {MAX_PRICE_DATA_BYTES} bytes")
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{url}: not valid JSON: {exc}") from None
    if not isinstance(raw, list):
        raise UsageError(f"{url}: expected genai-prices' list of providers")
    return raw


def _current(target: Path) -> PriceData:
    """The prices a service reading ``target`` uses now: the file, else the bundled data."""
    if not target.exists():
        return bundled_price_data()
    try:
        return load_price_data(target)
    except PriceFileError as exc:
        click.echo(f"obsgen: replacing a price data file that cannot be read: {exc}", err=True)
        return bundled_price_data()


def _described(data: PriceData) -> str:
    if data.source == BUNDLED:
        return f"genai-prices' bundled data, installed {data.fetched_at:%Y-%m-%d %H:%M} UTC"
    return f"{data.source}, fetched {data.fetched_at:%Y-%m-%d %H:%M} UTC"


@click.group()
def prices() -> None:
    """Model prices: fetch current ones into the file services read."""


@prices.command()
@click.option(
    "--url",
    help="Where to fetch from [default: the config's prices.update_url, "
    "else genai-prices' published data file].",
)
@click.option(
    "--to",
    "target",
    type=click.Path(dir_okay=False),
    help="The file to write [default: the config's prices.data_file, else prices.json].",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option(
    "--force",
    is_flag=True,
    help=f"Write the data even if it lacks more than {MAX_REMOVED_SHARE:.0%} of the models "
    "priced now.",
)
@optional_config_option("whose prices section applies")
def update(
    url: str | None, target: str | None, dry_run: bool, force: bool, config_path: str | None
) -> None:
    """Fetch genai-prices' current data, show how it differs from the prices in use, and
    write it where services read it (LLMOBS_PRICE_DATA); they reload it within a minute."""
    from genai_prices.update_prices import DEFAULT_UPDATE_URL  # the file its own updater reads

    settings = _settings(config_path)
    source = url or settings.update_url or DEFAULT_UPDATE_URL
    destination = Path(target or settings.data_file)
    raw = fetch(source)
    try:
        fetched = parse_providers(raw, source)
    except PriceFileError as exc:
        raise UsageError(str(exc)) from None
    now = datetime.now(timezone.utc)
    before = _current(destination)
    changes = price_diff.diff(
        price_diff.standard_prices(before.snapshot, now),
        price_diff.standard_prices(fetched, now),
    )
    click.echo(f"prices now: {_described(before)}")
    for line in changes.lines():
        click.echo(line)
    if dry_run:
        click.echo(f"dry run: {destination} left as it is")
        return
    known = len(changes.removed) + len(changes.changed) + changes.unchanged
    if not force and len(changes.removed) > MAX_REMOVED_SHARE * known:
        raise UsageError(
            f"{source} lacks {len(changes.removed):,} of the {known:,} models priced now, which "
            f"services would record at 0 USD; {destination} is left as it is (--force writes it)"
        )
    try:
        output.write_atomically(destination, price_data_document(raw, source, now))
    except (output.OutputError, OSError) as exc:
        raise UsageError(f"{destination}: cannot write it: {exc}") from None
    click.echo(
        f"wrote {destination} from {source}; services with {PRICE_DATA_ENV}={destination} "
        "price from it within a minute"
    )


def register(cli: click.Group) -> None:
    """Add ``prices`` to the ``obsgen`` command."""
    cli.add_command(prices)

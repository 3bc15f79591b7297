"""Price data in genai-prices' published format, read from a file instead of the bundled copy.

``obsgen prices update`` fetches genai-prices' data file (a JSON list of providers, each with
its models' prices) and writes it with where and when it was fetched::

    {"fetched_at": "2026-12-06T07:00:00+00:00", "url": "https://...", "providers": [...]}

A calculator given such a file (``LLMCostCalculator(price_data=...)`` or
``LLMOBS_PRICE_DATA``) prices from it instead of the data bundled with genai-prices. A bare
list of providers (the published file as downloaded) is read too; its age is then the file's.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .price_overrides import PriceFileError

PRICE_DATA_ENV = "LLMOBS_PRICE_DATA"
#: A price data file larger than this is a mistake (genai-prices' whole data is a few MB).
MAX_PRICE_DATA_BYTES = 64 * 1024 * 1024
#: The source of the price data in use, for messages.
BUNDLED = "bundled"


@dataclass(frozen=True)
class PriceData:
    """Providers' prices as genai-prices resolves them, and how old they are.

    ``snapshot`` is a genai-prices ``DataSnapshot``; ``fetched_at`` when the data was fetched
    (for the bundled data: when that copy of genai-prices was installed, as no release date
    comes with it); ``source`` the file read, or ``bundled``.
    """

    snapshot: Any
    fetched_at: datetime
    source: str

    @property
    def models(self) -> int:
        return sum(len(provider.models) for provider in self.snapshot.providers)


def parse_providers(raw: object, source: str) -> Any:
    """genai-prices' ``DataSnapshot`` of a published provider list; PriceFileError naming
    ``source`` if it is not one."""
    if not isinstance(raw, list) or not raw:
        raise PriceFileError(f"{source}: expected genai-prices' list of providers")
    try:
        from genai_prices import data_snapshot
        from genai_prices.types import _providers_from_raw
    except ImportError as exc:  # a genai-prices without the reader of its own data file
        raise PriceFileError(
            f"{source}: this genai-prices cannot read a price data file ({exc}); install "
            "genai-prices>=0.2.5"
        ) from None
    try:
        providers = _providers_from_raw(raw)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise PriceFileError(f"{source}: not genai-prices' price data: {detail}") from None
    return data_snapshot.DataSnapshot(providers, from_auto_update=True)


def _document(path: Path) -> object:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PRICE_DATA_BYTES + 1)
    except OSError as exc:
        raise PriceFileError(f"{path}: cannot read price data: {exc.strerror}") from None
    if len(data) > MAX_PRICE_DATA_BYTES:
        raise PriceFileError(f"{path}: larger than {MAX_PRICE_DATA_BYTES} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise PriceFileError(f"{path}: not valid JSON: {exc}") from None


def _timestamp(value: object, source: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise PriceFileError(f"{source}: fetched_at: not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise PriceFileError(f"{source}: fetched_at: needs a time zone: {value!r}")
    return moment


def load_price_data(path: str | os.PathLike[str]) -> PriceData:
    """The price data file at ``path``; PriceFileError saying what is wrong with it."""
    file = Path(path)
    document = _document(file)
    if isinstance(document, dict):
        unknown = sorted(set(document) - {"fetched_at", "url", "providers"})
        if unknown or "providers" not in document or "fetched_at" not in document:
            raise PriceFileError(
                f"{file}: expected keys fetched_at, url and providers (as obsgen prices update "
                f"writes), or genai-prices' bare list of providers; got {sorted(document)}"
            )
        fetched_at = _timestamp(document["fetched_at"], str(file))
        raw = document["providers"]
    else:
        fetched_at = datetime.fromtimestamp(file.stat().st_mtime, timezone.utc)
        raw = document
    return PriceData(parse_providers(raw, str(file)), fetched_at, str(file))


def bundled_price_data() -> PriceData:
    """The data bundled with genai-prices, dated when that copy was installed (or, where
    genai-prices' own updater has replaced it, when that fetched its data)."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    if snapshot.from_auto_update:
        return PriceData(snapshot, snapshot.timestamp.astimezone(timezone.utc), BUNDLED)
    installed = Path(data_snapshot.__file__).with_name("data.py").stat().st_mtime
    return PriceData(snapshot, datetime.fromtimestamp(installed, timezone.utc), BUNDLED)


def price_data_document(raw: list[Any], url: str, fetched_at: datetime) -> str:
    """The text of a price data file holding ``raw`` (genai-prices' provider list)."""
    document = {"fetched_at": fetched_at.isoformat(), "url": url, "providers": raw}
    return json.dumps(document, indent=1, sort_keys=True) + "\n"

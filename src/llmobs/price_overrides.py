"""User price overrides: a YAML file of USD-per-million-token prices that win over bundled data.

Format::

    prices:
      - model: my-finetuned-gpt        # exact name, or a glob such as "llama-3*"
        provider: openai               # optional: only for this provider
        input: 3.0                     # USD per million prompt tokens
        output: 12.0                   # USD per million completion tokens
        cache_read: 0.3                # optional, defaults to the input price
        cache_write: 3.75              # optional, defaults to the input price
        cache_write_1h: 6.0            # optional (1-hour cache writes), defaults to 2x input
        per_request: 0.0               # optional, USD per request
        per_web_search: 0.01           # optional, USD per web search the provider ran
        audio_input: 40.0              # optional, USD per million audio input tokens
        image_input: 10.0              # optional, USD per million image input tokens
        audio_output: 80.0             # optional, USD per million audio output tokens
        per_audio_minute: 0.006        # optional, USD per minute of audio (speech to text)
        per_million_characters: 15.0   # optional, USD per million input characters (speech)
        service_tier: batch            # optional: the price of this tier only

An exact name wins over a glob; among globs the first in the file wins. An entry with
``service_tier`` prices calls served on that tier (``llmobs.service_tiers``); one without it
prices the standard tier, from which the others are derived where the provider publishes a rule.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .rates import TokenRates
from .service_tiers import KNOWN_TIERS, tier_name

_REQUIRED = ("model", "input", "output")
_PRICE_KEYS = (
    "input",
    "output",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "per_request",
    "per_web_search",
    "audio_input",
    "image_input",
    "audio_output",
)
#: Keys priced per another unit than TokenRates holds: key -> (its field, units per key's unit).
_CONVERTED_KEYS = {
    "per_audio_minute": ("per_audio_second", 60.0),
    "per_million_characters": ("per_input_character", 1_000_000.0),
}
_ALLOWED = {"model", "provider", "service_tier", *_PRICE_KEYS, *_CONVERTED_KEYS}


class PriceFileError(ValueError):
    """The price override file is missing, unreadable or wrong; the message says where."""


@dataclass(frozen=True)
class PriceOverride:
    """One entry of the override file."""

    model: str
    provider: str | None
    rates: TokenRates
    service_tier: str | None = None

    @property
    def is_glob(self) -> bool:
        return any(ch in self.model for ch in "*?[")

    def matches(self, model: str, provider: str | None, tier: str | None = None) -> bool:
        """Whether this entry prices ``model`` (lower-cased) from ``provider`` on ``tier``
        (None: the standard tier)."""
        if self.service_tier != tier:
            return False
        if self.provider is not None and self.provider != provider:
            return False
        if self.is_glob:
            return fnmatch.fnmatchcase(model, self.model)
        return model == self.model


#: What a price key's number is, for messages; keys not listed are USD per million tokens.
_UNITS = {
    "per_request": "USD per request",
    "per_web_search": "USD per web search",
    "per_audio_minute": "USD per minute of audio",
    "per_million_characters": "USD per million characters",
}


def _price(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        unit = _UNITS.get(where.rsplit(".", 1)[-1], "USD per million tokens")
        raise PriceFileError(f"{where}: must be a number of {unit}, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise PriceFileError(f"{where}: must be a finite price of 0 or more, got {value!r}")
    return float(value)


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PriceFileError(f"{where}: must be a non-empty string, got {value!r}")
    return value.strip().lower()


def _tier(value: object, where: str) -> str | None:
    if value is None:
        return None
    name = _name(value, where)
    if name not in KNOWN_TIERS:
        raise PriceFileError(
            f"{where}: unknown service tier {name!r} (known: {', '.join(sorted(KNOWN_TIERS))})"
        )
    return tier_name(name)


def parse_overrides(document: object, source: str) -> tuple[PriceOverride, ...]:
    """Validate a loaded override document; raise PriceFileError naming the bad entry."""
    if document is None:
        return ()
    if not isinstance(document, dict) or set(document) - {"prices"}:
        raise PriceFileError(f"{source}: expected a mapping with one key 'prices'")
    entries = document.get("prices") or []
    if not isinstance(entries, list):
        raise PriceFileError(f"{source}: prices: must be a list of model prices")
    overrides = []
    for index, entry in enumerate(entries):
        where = f"{source}: prices[{index}]"
        if not isinstance(entry, dict):
            raise PriceFileError(f"{where}: must be a mapping, got {entry!r}")
        unknown = sorted(set(map(str, entry)) - _ALLOWED)
        if unknown:
            raise PriceFileError(
                f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_ALLOWED))})"
            )
        for key in _REQUIRED:
            if key not in entry:
                raise PriceFileError(f"{where}: missing required key {key!r}")
        prices = {key: _price(entry[key], f"{where}.{key}") for key in _PRICE_KEYS if key in entry}
        for key, (field, units) in _CONVERTED_KEYS.items():
            if key in entry:
                prices[field] = _price(entry[key], f"{where}.{key}") / units
        provider = entry.get("provider")
        overrides.append(
            PriceOverride(
                model=_name(entry["model"], f"{where}.model"),
                provider=None if provider is None else _name(provider, f"{where}.provider"),
                rates=TokenRates(**prices),
                service_tier=_tier(entry.get("service_tier"), f"{where}.service_tier"),
            )
        )
    return tuple(overrides)


def load_overrides(path: str | Path) -> tuple[PriceOverride, ...]:
    """Read and validate the override file at ``path``."""
    import yaml  # only needed when an override file is used

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceFileError(f"{path}: cannot read price file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise PriceFileError(
            f"{path}: not a UTF-8 text file (byte {exc.start}: {exc.reason})"
        ) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is not None and _expanded_size(root) > MAX_YAML_NODES:
            raise PriceFileError(
                f"{path}: more than {MAX_YAML_NODES} values once aliases are expanded; a price "
                "file this large is a mistake (or aliases that refer to themselves)"
            )
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PriceFileError(f"{path}: not valid YAML: {exc}") from exc
    except RecursionError:
        raise PriceFileError(f"{path}: nested too deeply to read") from None
    return parse_overrides(document, str(path))


MAX_YAML_NODES = 100_000


def _expanded_size(root: Any) -> int:
    """How many nodes ``root`` holds once aliases are expanded, counting no further than just
    past ``MAX_YAML_NODES`` (a node that contains itself counts without end)."""
    count, stack = 0, [root]
    while stack and count <= MAX_YAML_NODES:
        node = stack.pop()
        count += 1
        if isinstance(node.value, list):
            for item in node.value:
                stack.extend(item if isinstance(item, tuple) else (item,))
    return count


def find_override(
    overrides: tuple[PriceOverride, ...], model: str, provider: str | None, tier: str | None = None
) -> PriceOverride | None:
    """The entry that prices ``model`` on ``tier`` (None: standard): an exact name first, else
    the first matching glob."""
    exact = [o for o in overrides if not o.is_glob and o.matches(model, provider, tier)]
    if exact:
        # A provider-specific entry is more specific than one for every provider.
        return min(exact, key=lambda o: o.provider is None)
    return next((o for o in overrides if o.is_glob and o.matches(model, provider, tier)), None)

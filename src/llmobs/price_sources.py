"""What a cost calculator prices from: the user's price file and genai-prices' data (a fetched
file or the bundled copy), read together and read again when either file changes."""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .price_data import PRICE_DATA_ENV, PriceData, bundled_price_data, load_price_data
from .price_overrides import PriceOverride, load_overrides

logger = logging.getLogger("llmobs")

PRICES_FILE_ENV = "LLMOBS_PRICES_FILE"
#: How often a calculator looks whether its price files changed, by default.
RELOAD_SECONDS = 60.0

#: A file's identity as last read: (modification time in ns, size), None when it was missing.
Stamp = tuple[int, int] | None


def _stamp(path: Path | None) -> Stamp:
    if path is None:
        return None
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size)


@dataclass(frozen=True)
class PriceSources:
    """The overrides and the price data a calculator uses, and the files they came from."""

    overrides: tuple[PriceOverride, ...]
    data: PriceData
    overrides_path: Path | None = None
    data_path: Path | None = None
    stamps: tuple[Stamp, Stamp] = (None, None)

    @property
    def watched(self) -> bool:
        """Whether any of it was read from a file, which may change."""
        return self.overrides_path is not None or self.data_path is not None

    def current_stamps(self) -> tuple[Stamp, Stamp]:
        return (_stamp(self.overrides_path), _stamp(self.data_path))

    def reread(self) -> PriceSources:
        """The sources read again from their files; PriceFileError if one is now wrong."""
        return read_sources(self.overrides_path or self.overrides, self.data_path or self.data)


def read_sources(
    overrides: str | os.PathLike[str] | Sequence[PriceOverride] | None,
    data: str | os.PathLike[str] | PriceData | None,
) -> PriceSources:
    """Read the price file and the price data (None: the files named by ``LLMOBS_PRICES_FILE``
    and ``LLMOBS_PRICE_DATA`` if set; price data already read is used as it is);
    PriceFileError if either cannot be used."""
    if overrides is None:
        overrides = os.environ.get(PRICES_FILE_ENV) or ()
    if data is None:
        data = os.environ.get(PRICE_DATA_ENV) or None
    # Each file is stamped before it is read: a change while it is read is seen next time.
    overrides_path = Path(overrides) if isinstance(overrides, (str, os.PathLike)) else None
    data_path = Path(data) if isinstance(data, (str, os.PathLike)) else None
    stamps = (_stamp(overrides_path), _stamp(data_path))
    if isinstance(overrides, (str, os.PathLike)):
        parsed = load_overrides(Path(overrides))
    else:
        parsed = tuple(overrides)
    if isinstance(data, (str, os.PathLike)):
        read = load_price_data(data)
    else:
        read = bundled_price_data() if data is None else data
    return PriceSources(
        overrides=parsed,
        data=read,
        overrides_path=overrides_path,
        data_path=data_path,
        stamps=stamps,
    )


def watch(owner: Any, reload: Callable[[Any], object], seconds: float) -> threading.Event:
    """Call ``reload(owner)`` every ``seconds`` from a daemon thread, until the returned event
    is set or ``owner`` is garbage collected (the thread holds it weakly)."""
    stop = threading.Event()
    ref = weakref.ref(owner)

    def run() -> None:
        while not stop.wait(seconds):
            target = ref()
            if target is None:
                return
            try:
                reload(target)
            except Exception:  # a reload must never end the watching
                logger.exception("llmobs could not reload its prices")
            del target

    threading.Thread(target=run, name="llmobs-prices-reload", daemon=True).start()
    return stop

#!/usr/bin/env python3
"""Print the requirement lines of the oldest SDK releases the adapters support (one a line),
for CI's test run against them (``make test-oldest-sdks``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from llmobs.instrument import ADAPTERS

if __name__ == "__main__":
    lines: list[str] = []
    for adapter in ADAPTERS:
        lines += [line for line in adapter.oldest if line not in lines]
    print("\n".join(lines))

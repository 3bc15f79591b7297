"""Load a dashboard JSON through grafana-foundation-sdk and print what a round trip changes.

Run with the SDK build on PYTHONPATH: ``python roundtrip.py DASHBOARD.json``. Prints one line
per difference (path: before -> after) and exits 1 if there is any.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

#: Differences allowed on purpose, each for a reason the SDK's own model gives:
#: - ``__inputs``: what Grafana's import dialog reads (the data source to ask for); no schema
#:   models it.
#: - An annotation's ``titleFormat``, ``textFormat``, ``tagKeys`` and ``useValueForTime``: the
#:   Prometheus plugin reads them from the top level, where the schema has no field for them.
#: - An annotation's ``target``: the SDK types it as the built-in Grafana annotation target
#:   (limit, matchAny, tags, type), so it cannot hold a Prometheus query; Grafana stores the
#:   query there, and @grafana/schema types it as a data query.
#: - A variable's ``auto``, ``auto_count`` and ``auto_min``: interval-variable fields the SDK
#:   writes on every variable; @grafana/schema's VariableModel has no such fields.
ALLOWED = {
    ("__inputs",),
    *(
        ("annotations", "list", "*", key)
        for key in ("titleFormat", "textFormat", "tagKeys", "useValueForTime", "target")
    ),
    *(("templating", "list", "*", key) for key in ("auto", "auto_count", "auto_min")),
}


def differences(before: Any, after: Any, path: tuple[str, ...] = ()) -> list[str]:
    general = tuple("*" if part.isdigit() else part for part in path)
    if general in ALLOWED:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            found += differences(
                before.get(key, "<missing>"), after.get(key, "<missing>"), (*path, key)
            )
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = []
        for index, (a, b) in enumerate(zip(before, after, strict=True)):
            found += differences(a, b, (*path, str(index)))
        return found
    if before != after:
        return [f"{'.'.join(path)}: {json.dumps(before)[:120]} -> {json.dumps(after)[:120]}"]
    return []


def main(path: str) -> int:
    register_default_plugins()
    with open(path, encoding="utf-8") as stream:
        original = json.load(stream)
    loaded = Dashboard.from_json(original)
    again = json.loads(json.dumps(loaded, cls=JSONEncoder))
    found = differences(original, again)
    print("\n".join(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

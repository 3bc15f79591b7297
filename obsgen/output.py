"""Stage 4: generated files written atomically, and committed ones checked for drift."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import paths, plan, render
from .config import Config


def generate(config: Config, target: str = "all") -> dict[str, str]:
    """The files of ``target`` (dashboards, alerts, prometheus or all) for ``config``."""
    files = render.render_all(plan.build(config))
    if target == "all":
        return files
    wanted = paths.TARGETS[target]
    return {path: content for path, content in files.items() if path in wanted}


def write_atomically(path: Path, content: str) -> None:
    """Replace ``path`` with ``content`` in one step: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def differing(files: dict[str, str], out_dir: Path) -> list[str]:
    """Paths whose file under ``out_dir`` is missing or differs from what would be generated."""
    drift = []
    for relative, content in sorted(files.items()):
        path = out_dir / relative
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != content:
            drift.append(relative)
    return drift

"""Stage 4: generated files written atomically, and committed ones checked for drift."""

from __future__ import annotations

import json
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


STAGED_SUFFIX = ".obsgen-staged"
JOURNAL = ".obsgen-build.json"


class OutputError(ValueError):
    """Generated files cannot be written where they go; nothing was replaced."""


def write_atomically(path: Path, content: str) -> None:
    """Replace ``path`` with ``content`` in one step: readers see the old file or the new one."""
    write_all(path.parent, {path.name: content})


def _stage(path: Path, content: str) -> Path:
    """Write ``content`` next to ``path`` under a name only obsgen uses."""
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, not a file obsgen can replace")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=STAGED_SUFFIX
        )
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write there: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(content)
        os.chmod(temporary, 0o644)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write it: {exc.strerror}") from None
        raise
    return Path(temporary)


def recover(root: Path, relatives: list[str]) -> bool:
    """Finish a build that was killed while it replaced files (its journal lists them), and
    remove files a build staged but never used. Returns whether a build was finished."""
    if not root.is_dir():
        return False
    journal = root / JOURNAL
    finished = False
    try:
        pairs = json.loads(journal.read_text(encoding="utf-8")) if journal.exists() else []
        for staged, final in pairs:
            if Path(staged).exists():
                os.replace(staged, final)
                finished = True
        journal.unlink(missing_ok=True)
        for relative in relatives:
            path = root / relative
            if path.parent.is_dir():
                for leftover in path.parent.glob(f".{path.name}.*{STAGED_SUFFIX}"):
                    leftover.unlink(missing_ok=True)
    except (OSError, ValueError) as exc:
        raise OutputError(f"{journal}: cannot finish an interrupted build: {exc}") from None
    return finished


def write_all(root: Path, files: dict[str, str]) -> None:
    """Write every file or none: each is staged next to its place first, and only when all are
    staged are they moved into place. A build killed while moving them is finished by the
    next one (``recover``), from the journal it wrote; OutputError names what cannot be
    written."""
    recover(root, list(files))
    staged: list[tuple[Path, Path]] = []
    try:
        for relative, content in sorted(files.items()):
            final = root / relative
            staged.append((_stage(final, content), final))
        if len(staged) > 1:
            pairs = [[os.path.abspath(t), os.path.abspath(f)] for t, f in staged]
            journal = _stage(root / JOURNAL, json.dumps(pairs))
            os.replace(journal, root / JOURNAL)
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, final in staged:
        os.replace(temporary, final)
    (root / JOURNAL).unlink(missing_ok=True)


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

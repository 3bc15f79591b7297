"""Stage 4: generated files written atomically, and committed ones checked for drift."""

from __future__ import annotations

import hashlib
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


#: Files that were once hand-written starters: what obsgen shipped there, by SHA-256 digest,
#: which it replaces; anything else there is the user's, which it refuses to overwrite.
FORMER_STARTERS = {
    paths.ALERTMANAGER: (
        "What to do: move its receivers into `notifications:` of the config (secrets as "
        "*_file references), then delete the file; obsgen generates it from the config now",
        frozenset(
            {
                "6a818a079fa7d132d985b2b2e30ea9c5a6ee761b173267b000a5cdc7e0c11889",
                "718caac781b84714af7cf0a7fc1f1b326f45f424cc67557bc67006714e7107fe",
                "d17ca12f433508d119f67e8520a97f6e7df3f0392b7a3b845845837ca49be982",
            }
        ),
    ),
    paths.DATASOURCE: (
        "What to do: obsgen generates it from the config now (`dashboard.traces` links "
        "exemplars to traces); keep other data sources in a file of your own next to it, then "
        "delete it",
        frozenset({"0fdfb9d98b225c050f3d1cb7cbacfffacaee7672213d28bb1efe206b20d0c4c7"}),
    ),
}


def check_not_hand_written(root: Path, files: dict[str, str]) -> None:
    """OutputError if a file obsgen now generates holds the user's own edits of the starter
    obsgen once wrote there (neither generated nor a starter as shipped)."""
    for relative, (advice, digests) in FORMER_STARTERS.items():
        path = root / relative
        if relative not in files or not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise OutputError(f"{path}: cannot read it: {exc.strerror}") from None
        if (
            data.startswith(plan.GENERATED_MARK.encode())
            or hashlib.sha256(data).hexdigest() in digests
        ):
            continue
        raise OutputError(f"{path}: holds edits of yours, which obsgen would overwrite. {advice}")


def write_all(root: Path, files: dict[str, str]) -> None:
    """Write every file or none: each is staged next to its place first, and only when all are
    staged are they moved into place. A build killed while moving them is finished by the
    next one (``recover``), from the journal it wrote; OutputError names what cannot be
    written, or a file of the user's that it would overwrite."""
    recover(root, list(files))
    check_not_hand_written(root, files)
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

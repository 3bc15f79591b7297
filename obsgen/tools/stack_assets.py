"""The stack's hand-written files (compose file, Grafana provisioning), shipped inside the
package so that an installed obsgen runs the stack from any folder.

They are starter files: written into the output folder when missing and then the user's, so a
file that exists is never overwritten. (Alertmanager's config is generated from the config's
``notifications:``.)
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from obsgen import paths

#: The shipped files by the part of the stack that reads them, each by its path under the
#: output folder: the Docker stack's, and Grafana's (locally or in Docker).
SHIPPED = {
    "docker": ("stack/docker-compose.yml", "stack/.env.example"),
    "grafana": (paths.GRAFANA_DASHBOARDS_PROVIDER,),
}
PARTS = tuple(SHIPPED)


class AssetError(RuntimeError):
    """A shipped file cannot be written; the message names it and the cause."""


@dataclass(frozen=True)
class Installed:
    """What ``install_missing`` did: the files it wrote, and existing ones that differ from
    what this obsgen ships (kept as they are)."""

    written: tuple[str, ...]
    kept_differing: tuple[str, ...]


def _shipped_file(relative: str) -> Traversable:
    return resources.files("obsgen.tools").joinpath("assets", *relative.split("/"))


def shipped(parts: tuple[str, ...] = PARTS) -> dict[str, str]:
    """The text of every shipped file of ``parts``, by its path under the output folder."""
    return {
        relative: _shipped_file(relative).read_text(encoding="utf-8")
        for part in parts
        for relative in SHIPPED[part]
    }


def install_missing(root: Path, parts: tuple[str, ...] = PARTS) -> Installed:
    """Write each shipped file of ``parts`` that is missing under ``root``; keep every existing
    one.

    A file appears whole or not at all: it is written aside and linked into place, which
    fails rather than replace a file that appeared meanwhile."""
    written, differing = [], []
    for relative, content in shipped(parts).items():
        path = root / relative
        try:
            if path.exists():
                if path.read_text(encoding="utf-8", errors="replace") != content:
                    differing.append(relative)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if _link_new(path, content):
                written.append(relative)
        except OSError as exc:
            raise AssetError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Installed(tuple(written), tuple(differing))


def _link_new(path: Path, content: str) -> bool:
    """Create ``path`` holding ``content`` unless it exists; whether it was created."""
    handle, aside = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
        os.chmod(aside, 0o644)
        os.link(aside, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(aside)
    return True

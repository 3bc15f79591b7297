#!/usr/bin/env python3
"""The import layering of the code, checked (``make lint``): data flows one way.

- The runtime (``src/llmobs``) never imports the generator (``obsgen``), not even lazily.
- The generator's stages import only stages before them: config, catalogue, plan, render,
  output, tools (``paths`` is shared by all, the launcher sits on top).
- A renderer reads only the plan (and ``paths``): no config, catalogue or runtime, and no other
  renderer; ``templating`` and ``grafana_house`` are the renderers' shared helpers.

Prints one line per forbidden import and exits 1 if there is any.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"llmobs": ROOT / "src" / "llmobs", "obsgen": ROOT / "obsgen"}
#: The generator's stages in order; a module may import its own stage and those before it.
STAGES = ("paths", "config", "catalogue", "plan", "render", "output", "tools", "launcher")
RENDER_HELPERS = frozenset({"obsgen.render.templating", "obsgen.render.grafana_house"})


def module_name(path: Path) -> str:
    for top, folder in PACKAGES.items():
        if path.is_relative_to(folder):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            return ".".join((top, *parts))
    raise ValueError(f"{path} is in no package")


def is_module(name: str) -> bool:
    top, *parts = name.split(".")
    folder = PACKAGES.get(top)
    if folder is None:
        return False
    where = folder.joinpath(*parts)
    return where.with_suffix(".py").exists() or (where / "__init__.py").exists()


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # ``from . import render`` names a module
                if is_module(f"{target}.{alias.name}"):
                    yield node.lineno, f"{target}.{alias.name}"


def stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "obsgen" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in STAGES else "launcher" if parts[1] == "__main__" else None


def violation(importer: str, imported: str) -> str | None:
    """Why ``importer`` must not import ``imported``, or None."""
    if importer.startswith("llmobs") and imported.split(".")[0] == "obsgen":
        return "the runtime imports the generator"
    mine, theirs = stage(importer), stage(imported)
    if mine == "render" and importer not in RENDER_HELPERS and imported.startswith("llmobs"):
        return "a renderer reads the runtime, not only the plan"
    if mine is None or theirs is None:
        return None
    if STAGES.index(theirs) > STAGES.index(mine):
        return f"stage {mine} imports the later stage {theirs}"
    if mine == "render" and importer not in RENDER_HELPERS:
        if theirs in ("config", "catalogue"):
            return f"a renderer reads {theirs}, not only the plan"
        known = imported.count(".") >= 2
        if theirs == "render" and known and imported not in RENDER_HELPERS:
            return "a renderer imports another renderer"
    return None


def check(paths: list[Path]) -> list[str]:
    problems = []
    for path in paths:
        importer = module_name(path)
        seen: set[int] = set()
        for line, imported in imports(path):
            if imported == importer or imported.startswith(importer + ".") or line in seen:
                continue
            why = violation(importer, imported)
            if why is not None:
                seen.add(line)
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                problems.append(f"{where}:{line}: imports {imported}: {why}")
    return problems


def sources() -> list[Path]:
    return sorted(path for folder in PACKAGES.values() for path in folder.rglob("*.py"))


def main() -> int:
    problems = check(sources())
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

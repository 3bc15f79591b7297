"""Generated files are written all or none, and a killed build is finished by the next one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from obsgen import config as configuration
from obsgen import output

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def files_of(name: str) -> dict[str, str]:
    return output.generate(configuration.load(FIXTURES / name))


def on_disk(root: Path, relatives) -> dict[str, str]:
    return {r: (root / r).read_text(encoding="utf-8") for r in relatives}


def staged_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(output.STAGED_SUFFIX)]


def test_a_build_interrupted_while_replacing_is_finished_by_the_next(tmp_path, monkeypatch):
    old, new = files_of("odd.yaml"), files_of("full.yaml")
    output.write_all(tmp_path, old)
    real_replace, moved = os.replace, []

    def dies_on_the_third(source, target):
        if str(target).endswith(output.JOURNAL) or len(moved) < 2:
            moved.append(target)
            return real_replace(source, target)
        raise KeyboardInterrupt  # as if killed here

    monkeypatch.setattr(output.os, "replace", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        output.write_all(tmp_path, new)
    monkeypatch.setattr(output.os, "replace", real_replace)
    assert on_disk(tmp_path, new) not in (old, new)  # mixed, until the next build
    assert output.recover(tmp_path, list(new))
    assert on_disk(tmp_path, new) == new
    assert staged_leftovers(tmp_path) == []
    assert not (tmp_path / output.JOURNAL).exists()


def test_files_staged_by_a_killed_build_are_removed(tmp_path):
    old = files_of("odd.yaml")
    output.write_all(tmp_path, old)
    stray = tmp_path / "docs" / f".alerts.md.abc{output.STAGED_SUFFIX}"
    stray.write_text("half")
    output.write_all(tmp_path, old)
    assert not stray.exists()

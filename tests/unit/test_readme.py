"""The README is a one-screen start: the two commands first, every link it makes leads to a
file of the repository, and the rest lives in docs/."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_it_starts_with_the_two_commands_and_fits_on_a_screen():
    first_block = README.split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [
        ["make", "up"],
        ["make", "test"],
    ]
    assert len(README.splitlines()) <= 150


def test_every_link_leads_to_a_file_of_the_repository():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if target.startswith(("http://", "https://")):
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}"


def test_the_project_speaks_of_itself():
    for page in [ROOT / "README.md", ROOT / "obsgen" / "config" / "starter.yaml"]:
        assert "seed" not in page.read_text(encoding="utf-8").lower(), page

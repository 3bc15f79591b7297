"""The reference pages in ``docs/reference/`` are what the code generates (``make docs``): the
metrics of the schema, the config's keys with their defaults, every command's help."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmobs.schema import METRICS
from obsgen.tools import reference_docs

ROOT = Path(__file__).resolve().parents[2]
PAGES = reference_docs.generate()


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_committed_page_is_what_the_code_generates(page):
    committed = (ROOT / page).read_text(encoding="utf-8")
    assert committed == PAGES[page], f"{page} is stale: run `make docs` and commit it"


def test_every_metric_is_in_the_metrics_page():
    page = PAGES["docs/reference/metrics.md"]
    assert [spec.name for spec in METRICS if f"| `{spec.name}` |" in page] == [
        spec.name for spec in METRICS
    ]


def test_every_key_the_readers_accept_is_in_the_config_page():
    page = PAGES["docs/reference/config.md"]
    for key in ("reservation", "output_tokens", "evaluation_interval", "require_tls", "separator"):
        assert f"| `{key}` |" in page
    assert "| `budgets.daily` |" not in page  # keys are listed under their section


def test_the_check_mode_names_a_stale_page(tmp_path, capsys):
    assert reference_docs.main(["--out", str(tmp_path)]) == 0
    (tmp_path / "docs/reference/metrics.md").write_text("old\n")
    assert reference_docs.main(["--check", "--out", str(tmp_path)]) == 1
    assert "docs/reference/metrics.md differs" in capsys.readouterr().err

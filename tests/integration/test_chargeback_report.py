"""``obsgen costs report`` as a user runs it, and its page opened in real headless Chromium: the
totals on the page are the store's, and every chart is drawn (its colours are on the
screenshot)."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from llmobs import CostTracker, LLMCostCalculator, LLMMetrics
from obsgen.tools.chargeback_page import OTHERS, PALETTE
from tests.helpers import obsgen

PIL = pytest.importorskip("PIL.Image")
DAY = date(2026, 11, 5)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (make browser-deps)")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A month of spend of 25 customers (and some untagged), reported by the CLI."""
    folder = tmp_path_factory.mktemp("chargeback")
    db = folder / "costs.sqlite3"
    from prometheus_client import CollectorRegistry

    calculator = LLMCostCalculator(overrides=[], metrics=LLMMetrics(CollectorRegistry()))
    tracker = CostTracker(db, calculator=calculator, attribution_keys=("region",))
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    for n in range(2_000):
        tags = {"customer": f"customer-{n * 7 % 25:02d}", "region": ("eu", "us")[n % 2]}
        tracker.record_cost(
            "svc.chat",
            ("gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash")[n % 3],
            ("openai", "anthropic", "google")[n % 3],
            800 + n % 900,
            90 + n % 300,
            at=start + timedelta(minutes=21 * n),
            tags=tags if n % 9 else None,
        )
    tracker.close()
    config = folder / "obsgen.yaml"
    config.write_text("apiVersion: obsgen/v1\nattribution:\n  keys: [region]\n")
    result = obsgen(
        "costs", "report", "--db", str(db), "--period", "2026-11", "--by", "customer",
        "-o", str(folder), "-c", str(config),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder, db, result.stdout


def store_of(db: Path) -> CostTracker:
    return CostTracker(db, read_only=True)


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_the_csv_holds_every_customer_with_the_stores_spend(report):
    folder, db, printed = report
    rows = list(csv.DictReader((folder / "chargeback-customer-2026-11.csv").open()))
    tracker = store_of(db)
    stored = {r["customer"]: r["cost_usd"] for r in tracker.breakdown("month", "customer", DAY)}
    total = tracker.get_monthly_summary(DAY)["total_cost"]
    tracker.close()
    csv_costs = {r["customer"]: float(r["cost_usd"]) for r in rows[:-1]}
    assert csv_costs == pytest.approx(stored, abs=1e-6)  # written to the micro-dollar
    assert rows[-1]["customer"] == "(untagged)"
    assert sum(float(r["cost_usd"]) for r in rows) == pytest.approx(total, abs=1e-5)
    assert f"{total:.2f} USD in 2026-11" in printed


def test_the_page_shows_the_stores_totals_in_chromium(report):
    folder, db, _ = report
    page = (folder / "chargeback-customer-2026-11.html").as_uri()
    dom = chromium("--dump-dom", page).stdout
    tracker = store_of(db)
    total = tracker.get_monthly_summary(DAY)["total_cost"]
    top = tracker.breakdown("month", "customer", DAY)
    tracker.close()
    shown = float(re.search(r'data-total-usd="([0-9.]+)"', dom)[1])
    attributed = float(re.search(r'data-attributed-usd="([0-9.]+)"', dom)[1])
    assert shown == pytest.approx(total)
    assert attributed == pytest.approx(sum(r["cost_usd"] for r in top))
    rows = re.findall(r'<tr data-value="([^"]+)" data-cost-usd="([0-9.]+)"', dom)
    assert [(v, pytest.approx(c)) for v, c in ((v, float(c)) for v, c in rows)] == [
        (r["customer"], r["cost_usd"]) for r in top
    ]
    assert len(re.findall(r"<svg data-chart=", dom)) == 3


def test_every_chart_is_drawn_on_the_screenshot(report, tmp_path):
    folder, _, _ = report
    shot = tmp_path / "page.png"
    page = (folder / "chargeback-customer-2026-11.html").as_uri()
    chromium(f"--screenshot={shot}", "--window-size=1100,2200", page)
    image = PIL.open(shot).convert("RGB")
    counts = {colour: count for count, colour in image.getcolors(maxcolors=1 << 24)}

    def area(colour: str) -> int:
        return counts.get(tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5)), 0)

    assert area(PALETTE[0]) > 20_000  # the biggest customer: its days, its bar, a model
    assert all(area(colour) > 200 for colour in PALETTE), "a charted customer is missing"
    assert area(OTHERS) > 1_000  # the rest of each day

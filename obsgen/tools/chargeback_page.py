"""The chargeback report as one self-contained HTML page: its totals, spend per day of the
biggest values, the top values, and each one's spend per model, drawn as inline SVG (no script,
no network: it opens from disk, prints, and mails as an attachment)."""

from __future__ import annotations

from html import escape

from .chargeback import Chargeback

#: Series colours (Tableau 10); the rest, summed, in grey.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6",
)  # fmt: skip
OTHERS = "#c9c9c9"
TABLE_ROWS = 50
WIDTH = 960
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #222 }
h1 { font-size: 22px } h2 { font-size: 17px; margin-top: 28px }
.cards { display: flex; gap: 16px } .card { border: 1px solid #ddd; border-radius: 6px;
  padding: 10px 14px } .card b { display: block; font-size: 20px }
table { border-collapse: collapse; width: 100% } td, th { padding: 3px 8px;
  border-bottom: 1px solid #eee; text-align: right } td:first-child, th:first-child
  { text-align: left } .legend span { margin-right: 14px } .swatch { display: inline-block;
  width: 10px; height: 10px; margin-right: 4px } svg text { font-size: 11px; fill: #444 }
"""


def usd(value: float) -> str:
    return f"{value:,.2f} USD" if value >= 0.01 or value == 0 else f"{value:.6f} USD"


def render(report: Chargeback) -> str:
    """The page of ``report``."""
    by = escape(report.by)
    attributed = report.total_usd - report.untagged_usd
    title = f"LLM spend by {by}, {report.first:%B %Y}"
    unpriced = (
        f"<p>{report.unpriced_requests} requests of models with no known price are counted at "
        "0 USD: the totals are a lower bound.</p>"
        if report.unpriced_requests
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{STYLE}</style></head>
<body><main data-total-usd="{report.total_usd:.9f}" data-attributed-usd="{attributed:.9f}"
 data-untagged-usd="{report.untagged_usd:.9f}" data-values="{len(report.rows)}">
<h1>{title}</h1>
<p>{report.first.isoformat()} to {report.last.isoformat()} ({escape(report.timezone)}),
from the cost tracker's records.</p>
<div class="cards">
<div class="card">total<b>{usd(report.total_usd)}</b>{report.total_requests:,} requests</div>
<div class="card">attributed to a {by}<b>{usd(attributed)}</b>{len(report.rows):,} {by}s</div>
<div class="card">untagged<b>{usd(report.untagged_usd)}</b>{report.untagged_requests:,}
requests</div>
</div>
{unpriced}
<h2>Spend per day</h2>
{_legend(report)}
{_daily_chart(report)}
<h2>Top {by}s</h2>
{_top_chart(report)}
<h2>Models per {by}</h2>
{_models_chart(report)}
<h2>Every {by}, highest spend first</h2>
{_table(report)}
</main></body></html>
"""


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _legend(report: Chargeback) -> str:
    items = [
        f'<span><i class="swatch" style="background:{_colour(n)}"></i>{escape(value)}</span>'
        for n, value in enumerate(report.daily)
    ]
    items.append(f'<span><i class="swatch" style="background:{OTHERS}"></i>the rest</span>')
    return f'<p class="legend">{"".join(items)}</p>'


def _daily_chart(report: Chargeback) -> str:
    """Stacked bars, one per day: the charted values bottom up, then the rest."""
    height, left, bottom = 260, 70, 20
    totals = [
        sum(series[n] for series in report.daily.values()) + report.others_daily[n]
        for n in range(len(report.days))
    ]
    peak = max(totals, default=0.0) or 1.0
    step = (WIDTH - left) / max(len(report.days), 1)
    scale = (height - bottom - 10) / peak
    shapes = [
        f'<text x="{left - 6}" y="14" text-anchor="end">{peak:,.2f} USD</text>',
        f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">0</text>',
    ]
    for n, day in enumerate(report.days):
        x, y = left + n * step, float(height - bottom)
        stacks = [(_colour(i), v, s[n]) for i, (v, s) in enumerate(report.daily.items())]
        stacks.append((OTHERS, "the rest", report.others_daily[n]))
        for colour, value, spent in stacks:
            if spent <= 0:
                continue
            tall = spent * scale
            y -= tall
            shapes.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{step - 2:.1f}" height="{tall:.1f}" '
                f'fill="{colour}"><title>{escape(value)}, {day}: {usd(spent)}</title></rect>'
            )
        if n % 5 == 0:
            shapes.append(f'<text x="{x + 1:.1f}" y="{height - 4}">{day:%d %b}</text>')
    return _svg("daily", height, shapes)


def _top_chart(report: Chargeback) -> str:
    """One bar per charted value, as long as its spend."""
    values = [row for row in report.rows[: len(report.daily)]]
    if not values:
        return f"<p>No spend was attributed to a {escape(report.by)} this month.</p>"
    left, row_height = 200, 24
    peak = values[0]["cost_usd"] or 1.0
    shapes = []
    for n, row in enumerate(values):
        name, spent = str(row[report.by]), row["cost_usd"]
        y, long = n * row_height, (WIDTH - left - 120) * spent / peak
        shapes += [
            f'<text x="{left - 6}" y="{y + 16}" text-anchor="end">{escape(name[:32])}</text>',
            f'<rect x="{left}" y="{y + 4}" width="{long:.1f}" height="{row_height - 8}" '
            f'fill="{_colour(n)}"><title>{escape(name)}: {usd(spent)}</title></rect>',
            f'<text x="{left + long + 6:.1f}" y="{y + 16}">{usd(spent)}</text>',
        ]
    return _svg("top", len(values) * row_height + 4, shapes)


def _models_chart(report: Chargeback) -> str:
    """One bar per charted value, split by its spend per model (as shares of its spend)."""
    if not report.models:
        return ""
    names = sorted({model for models in report.models.values() for model in models})
    colour = {model: _colour(n) for n, model in enumerate(names)}
    left, row_height = 200, 24
    shapes = []
    for n, (value, models) in enumerate(report.models.items()):
        y, x, spent = n * row_height, float(left), sum(models.values()) or 1.0
        shapes.append(
            f'<text x="{left - 6}" y="{y + 16}" text-anchor="end">{escape(value[:32])}</text>'
        )
        for model, cost in sorted(models.items(), key=lambda item: -item[1]):
            wide = (WIDTH - left - 20) * cost / spent
            shapes.append(
                f'<rect x="{x:.1f}" y="{y + 4}" width="{wide:.1f}" height="{row_height - 8}" '
                f'fill="{colour[model]}"><title>{escape(value)}, {escape(model)}: {usd(cost)}'
                "</title></rect>"
            )
            x += wide
    legend = "".join(
        f'<span><i class="swatch" style="background:{colour[m]}"></i>{escape(m)}</span>'
        for m in names
    )
    chart = _svg("models", len(report.models) * row_height + 4, shapes)
    return f'<p class="legend">{legend}</p>{chart}'


def _svg(name: str, height: int, shapes: list[str]) -> str:
    body = "\n".join(shapes)
    return (
        f'<svg data-chart="{name}" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img">\n{body}\n</svg>'
    )


def _table(report: Chargeback) -> str:
    by = report.by
    head = (
        f"<tr><th>{escape(by)}</th><th>requests</th><th>prompt tokens</th>"
        "<th>completion tokens</th><th>cost</th><th>share</th></tr>"
    )
    rows = []
    for row in report.rows[:TABLE_ROWS]:
        share = row["cost_usd"] / report.total_usd * 100 if report.total_usd else 0.0
        rows.append(
            f'<tr data-value="{escape(str(row[by]))}" data-cost-usd="{row["cost_usd"]:.9f}">'
            f"<td>{escape(str(row[by]))}</td><td>{row['requests']:,}</td>"
            f"<td>{row['prompt_tokens']:,}</td><td>{row['completion_tokens']:,}</td>"
            f"<td>{usd(row['cost_usd'])}</td><td>{share:.1f}%</td></tr>"
        )
    more = len(report.rows) - TABLE_ROWS
    tail = f"<p>{more:,} more in the CSV.</p>" if more > 0 else ""
    return f"<table>{head}{''.join(rows)}</table>{tail}"

"""The spend report behind ``obsgen costs``: one period's totals and budget first, then its
biggest spenders one way (agent, model, provider, team, or an attribution tag such as customer)
beside their own budgets, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from llmobs import CostTracker
from llmobs.configfile import Budgets
from llmobs.configfile.budgets import PERIOD_KEYS

GROUPINGS = ("agent", "model", "provider", "team")
FORMATS = ("table", "json", "csv")
#: Rows a table shows unless told otherwise (``--limit``, ``--all``).
TABLE_ROWS = 10
_PERIOD_KEY = {period.value: key for key, period in PERIOD_KEYS}


def own_budgets(budgets: Budgets | None, by: str, period: str) -> dict[str, float]:
    """The budgets of the config for each team or agent in ``period`` (by name)."""
    if budgets is None or by not in ("team", "agent"):
        return {}
    scoped = budgets.teams if by == "team" else budgets.agents
    key = _PERIOD_KEY[period]
    return {b.name: amount for b in scoped if (amount := getattr(b, key)) is not None}


@dataclass(frozen=True)
class CostReport:
    """A period's spend: its totals and budget, and its top spenders by one dimension."""

    period: str
    start: str
    end: str
    timezone: str
    by: str
    rows: list[dict[str, Any]]
    #: Whether the period has more keys than ``rows`` holds.
    more: bool
    total_cost: float
    total_requests: int
    unpriced_requests: int
    budget: float | None

    @classmethod
    def build(
        cls,
        tracker: CostTracker,
        period: str,
        by: str,
        day: date | None,
        *,
        limit: int | None,
        budgets: Budgets | None = None,
    ) -> CostReport:
        """The report of the ``period`` holding ``day``: at most ``limit`` rows (None: all),
        each with its own budget where ``budgets`` (the config's) sets one."""
        summary = tracker.period_summary(period, day)
        rows = tracker.breakdown(period, by, day, limit=None if limit is None else limit + 1)
        more = limit is not None and len(rows) > limit
        own = own_budgets(budgets, by, period)
        shown = []
        for row in rows[:limit] if limit is not None else rows:
            budget = own.get(str(row[by]))
            shown.append(
                {
                    **row,
                    "budget_usd": budget,
                    "percent_used": None
                    if budget is None
                    else round(row["cost_usd"] / budget * 100, 2),
                }
            )
        return cls(
            period=period,
            start=summary["start"],
            end=summary["end"],
            timezone=str(tracker.timezone),
            by=by,
            rows=shown,
            more=more,
            total_cost=summary["total_cost"],
            total_requests=summary["total_requests"],
            unpriced_requests=summary["unpriced_requests"],
            budget=summary["budget"],
        )

    @property
    def percent_used(self) -> float | None:
        return None if self.budget is None else round(self.total_cost / self.budget * 100, 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "start": self.start,
            "end": self.end,
            "timezone": self.timezone,
            "total_cost_usd": self.total_cost,
            "total_requests": self.total_requests,
            "unpriced_requests": self.unpriced_requests,
            "budget_usd": self.budget,
            "percent_used": self.percent_used,
            "remaining_usd": None
            if self.budget is None
            else round(self.budget - self.total_cost, 6),
            "by": self.by,
            "rows": self.rows,
            "more_rows": self.more,
        }

    def render(self, fmt: str) -> str:
        if fmt == "json":
            return json.dumps(self.as_dict(), indent=2) + "\n"
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow([self.by, "requests", "cost_usd", "budget_usd"])
            for row in self.rows:
                budget = "" if row["budget_usd"] is None else f"{row['budget_usd']:.2f}"
                writer.writerow([row[self.by], row["requests"], f"{row['cost_usd']:.6f}", budget])
            return buffer.getvalue()
        return self._table()

    def _budget_line(self) -> str:
        if self.budget is None:
            return f"no {self.period} budget set"
        over = "  OVER BUDGET" if self.total_cost > self.budget else ""
        return (
            f"{self.budget:.2f} USD: {self.percent_used:.2f}% used, "
            f"{self.budget - self.total_cost:.2f} USD remaining{over}"
        )

    def _table(self) -> str:
        span = self.start if self.start == self.end else f"{self.start} to {self.end}"
        lines = [
            f"LLM spend, {self.period} {span} ({self.timezone})",
            "",
            f"total     {self.total_cost:.6f} USD in {self.total_requests} requests",
            f"budget    {self._budget_line()}",
        ]
        if self.unpriced_requests:
            some = (
                "1 request of a model"
                if self.unpriced_requests == 1
                else f"{self.unpriced_requests} requests of models"
            )
            lines.append(
                f"          {some} with no known price counted at 0 USD: the total is a lower bound"
            )
        lines += ["", f"by {self.by}" + (f", top {len(self.rows)}" if self.more else "")]
        if not self.rows:
            lines.append("(no requests recorded in this period)")
            return "\n".join(lines) + "\n"
        budgets = any(row["budget_usd"] is not None for row in self.rows)
        width = max([len(self.by), *(len(str(r[self.by])) for r in self.rows)])
        header = f"{self.by:<{width}}  {'requests':>9}  {'cost (USD)':>14}  {'share':>6}"
        lines.append(header + (f"  {'budget (USD)':>12}  {'used':>7}" if budgets else ""))
        for row in self.rows:
            share = row["cost_usd"] / self.total_cost * 100 if self.total_cost else 0.0
            line = (
                f"{row[self.by]:<{width}}  {row['requests']:>9}  {row['cost_usd']:>14.6f}  "
                f"{share:>5.1f}%"
            )
            if row["budget_usd"] is not None:
                line += f"  {row['budget_usd']:>12.2f}  {row['percent_used']:>6.1f}%"
            lines.append(line)
        if self.more:
            lines.append(f"(more {self.by}s spent less: --limit N or --all to list them)")
        return "\n".join(lines) + "\n"

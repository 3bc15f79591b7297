"""The spend report behind ``obsgen costs``: one period, broken down one way, in three formats."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from llmobs import CostTracker

GROUPINGS = ("agent", "model", "provider", "team")
FORMATS = ("table", "json", "csv")


@dataclass(frozen=True)
class CostReport:
    """A period's spend by one dimension, with its budget."""

    period: str
    start: str
    end: str
    timezone: str
    by: str
    rows: list[dict[str, Any]]
    total_cost: float
    total_requests: int
    unpriced_requests: int
    budget: float | None

    @classmethod
    def build(cls, tracker: CostTracker, period: str, by: str, day: date | None) -> CostReport:
        summary = tracker.period_summary(period, day)
        rows = tracker.breakdown(period, by, day)
        return cls(
            period=period,
            start=summary["start"],
            end=summary["end"],
            timezone=str(tracker.timezone),
            by=by,
            rows=rows,
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
            "by": self.by,
            "rows": self.rows,
            "total_cost_usd": self.total_cost,
            "total_requests": self.total_requests,
            "unpriced_requests": self.unpriced_requests,
            "budget_usd": self.budget,
            "percent_used": self.percent_used,
            "remaining_usd": None
            if self.budget is None
            else round(self.budget - self.total_cost, 6),
        }

    def render(self, fmt: str) -> str:
        if fmt == "json":
            return json.dumps(self.as_dict(), indent=2) + "\n"
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow([self.by, "requests", "cost_usd"])
            for row in self.rows:
                writer.writerow([row[self.by], row["requests"], f"{row['cost_usd']:.6f}"])
            return buffer.getvalue()
        return self._table()

    def _table(self) -> str:
        span = self.start if self.start == self.end else f"{self.start} to {self.end}"
        lines = [f"LLM spend, {self.period} {span} ({self.timezone}), by {self.by}", ""]
        width = max([len(self.by), len("total"), *(len(str(r[self.by])) for r in self.rows)])
        lines.append(f"{self.by:<{width}}  {'requests':>9}  {'cost (USD)':>14}  {'share':>6}")
        for row in self.rows:
            share = row["cost_usd"] / self.total_cost * 100 if self.total_cost else 0.0
            lines.append(
                f"{row[self.by]:<{width}}  {row['requests']:>9}  {row['cost_usd']:>14.6f}  "
                f"{share:>5.1f}%"
            )
        if not self.rows:
            lines.append("(no requests recorded in this period)")
        lines.append(f"{'total':<{width}}  {self.total_requests:>9}  {self.total_cost:>14.6f}")
        lines.append("")
        if self.budget is None:
            lines.append(f"no {self.period} budget set")
        else:
            lines.append(
                f"budget {self.budget:.2f} USD: {self.percent_used:.2f}% used, "
                f"{self.budget - self.total_cost:.2f} USD remaining"
                + ("  OVER BUDGET" if self.total_cost > self.budget else "")
            )
        if self.unpriced_requests:
            lines.append(
                f"{self.unpriced_requests} requests of models with no known price are "
                "counted at 0 USD: the total is a lower bound"
            )
        return "\n".join(lines) + "\n"

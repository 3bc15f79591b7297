"""``docs/alerts.md``: every alert the config generates, with its group, severity, ``for:``,
summary and a link to its runbook section."""

from __future__ import annotations

from obsgen.plan import MARKDOWN_HEADER, Plan

from .templating import relative


def render(plan: Plan, runbooks: str, at: str) -> str:
    """The alert index written to ``at``, linking into ``runbooks``."""
    link = relative(at, runbooks)
    lines = [
        MARKDOWN_HEADER,
        "# Alerts",
        "",
        f"The alerts `obsgen build` generates from `{plan.source}`, by rule group. Each "
        "name links to its runbook section.",
        "",
    ]
    for group in plan.alerts:
        lines += [
            f"## {group.name}",
            "",
            "| alert | severity | for | summary |",
            "|---|---|---|---|",
        ]
        seen: set[tuple[str, str]] = set()
        for alert in group.rules:
            key = (alert.name, alert.summary)
            if key in seen:
                continue
            seen.add(key)
            lines.append(
                f"| [{alert.name}]({link}#{alert.name.lower()}) | {alert.severity} "
                f"| {alert.duration} | {alert.summary.replace('|', '/')} |"
            )
        lines.append("")
    return "\n".join(lines)

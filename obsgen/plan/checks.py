"""What the config can only be checked against once the catalogue is known: the alerts it
names (``alerts.for``) must be alerts obsgen generates."""

from __future__ import annotations

from obsgen.catalogue.alerts import ALERT_NAMES, RENAMED
from obsgen.config import Config, ConfigError
from obsgen.config.validation import Reader, did_you_mean


def config_issues(config: Config) -> ConfigError | None:
    """Every issue of ``config`` against the catalogue, None if there is none."""
    r = Reader(config.source, config.lines)
    for alert, _ in config.alert_for:
        where = ("alerts", "for", alert)
        if alert in RENAMED:
            replacement, meaning = RENAMED[alert]
            r.fail(where, f"renamed {replacement}, {meaning}")
        elif alert not in ALERT_NAMES:
            hint = did_you_mean(alert, ALERT_NAMES)
            r.fail(where, f"not an alert obsgen generates{hint} (see docs/alerts.md)")
    return ConfigError(r.issues) if r.issues else None

"""Reading ``notifications:``: receivers (Slack, webhook, email, PagerDuty) whose secrets stay in
files Alertmanager reads, and which receivers get each kind of alert."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from . import keys
from . import validation as check
from .model import ROUTE_KINDS, Email, Notifications, PagerDuty, Receiver, Slack, Webhook
from .validation import Reader

_ADDRESS = re.compile(r"^[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+$")


def _address(value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ValueError(
            f"must be an email address such as ops@example.com, got {check.describe(value)}"
        )
    return value


#: Keys Alertmanager takes a secret in, and the key of the file it can read it from instead.
_SECRETS = {"api_url": "api_url_file", "auth_password": "auth_password_file"}
_SECRETS |= {"routing_key": "routing_key_file", "service_key": "routing_key_file"}


def _section(r: Reader, data: Any, path: tuple, known: dict[str, str]) -> dict[str, Any]:
    """An integration's mapping; a secret given inline is refused, naming the file key."""
    section = r.mapping(data, path, {**dict.fromkeys(_SECRETS, ""), **known})
    for key in sorted(set(section) & set(_SECRETS)):
        file_key = _SECRETS[key]
        if file_key not in known:
            r.fail((*path, key), check.unknown_key(key, known))
        else:
            r.fail(
                (*path, key),
                f"is a secret, which obsgen never writes into generated files: put it in a file "
                f"and name the file in {file_key} (Alertmanager reads it)",
            )
    return section


def _slack(r: Reader, data: Any, path: tuple) -> Slack:
    section = _section(r, data, path, keys.SLACK)
    return Slack(
        api_url_file=r.value(section, path, "api_url_file", check.text) or "",
        channel=r.value(section, path, "channel", check.text, None),
    )


_webhook_url = check.secret_free_url("use url_file, a file holding the URL")


def _webhook(r: Reader, data: Any, path: tuple) -> Webhook:
    section = _section(r, data, path, keys.WEBHOOK)
    hook = Webhook(
        url=r.value(section, path, "url", _webhook_url, None),
        url_file=r.value(section, path, "url_file", check.text, None),
    )
    if ("url" in section) == ("url_file" in section):
        r.fail(path, "give url, or url_file for a URL that holds a secret (not both)")
    return hook


def _email(r: Reader, data: Any, path: tuple) -> Email:
    section = _section(r, data, path, keys.EMAIL)
    email = Email(
        to=r.value(section, path, "to", _address) or "",
        sender=r.value(section, path, "from", _address) or "",
        smarthost=r.value(section, path, "smarthost", check.host_port) or "",
        auth_username=r.value(section, path, "auth_username", check.text, None),
        auth_password_file=r.value(section, path, "auth_password_file", check.text, None),
        require_tls=r.value(section, path, "require_tls", check.boolean, True),
    )
    r.together(path, auth_username=email.auth_username, auth_password_file=email.auth_password_file)
    return email


def _pagerduty(r: Reader, data: Any, path: tuple) -> PagerDuty:
    section = _section(r, data, path, keys.PAGERDUTY)
    return PagerDuty(routing_key_file=r.value(section, path, "routing_key_file", check.text) or "")


INTEGRATIONS = tuple(keys.RECEIVER)
T = TypeVar("T")


#: The receiver of alerts no route sends anywhere: shown in Alertmanager's UI only.
UNROUTED = "llm-alerts"


def _receiver(r: Reader, name: Any, data: Any, path: tuple) -> Receiver | None:
    label = r.checked(path, name, check.identifier)
    if label is None:
        return None
    if label == UNROUTED:
        r.fail(path, f"{UNROUTED} is the receiver of alerts no route sends: choose another name")
        return None
    section = r.mapping(data, path, keys.RECEIVER)
    if not section:
        r.fail(path, f"names no integration: give one or more of {', '.join(INTEGRATIONS)}")

    def integration(key: str, read: Callable[[Reader, Any, tuple], T]) -> T | None:
        return read(r, section[key], (*path, key)) if key in section else None

    return Receiver(
        label,
        slack=integration("slack", _slack),
        webhook=integration("webhook", _webhook),
        email=integration("email", _email),
        pagerduty=integration("pagerduty", _pagerduty),
    )


def _routes(
    r: Reader, data: Any, path: tuple, names: set[str]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    section = r.mapping(data, path, set(ROUTE_KINDS))
    routes = []
    for kind in ROUTE_KINDS:
        if kind not in section:
            continue
        where = (*path, kind)
        chosen = section[kind]
        if not isinstance(chosen, list) or not chosen:
            r.fail(
                where, f"must be a non-empty list of receiver names, got {check.describe(chosen)}"
            )
            continue
        for index, receiver in enumerate(chosen):
            if receiver not in names:
                known = ", ".join(sorted(names)) or "none"
                r.fail(
                    (*where, index), f"no receiver {check.describe(receiver)} (receivers: {known})"
                )
        routes.append((kind, tuple(dict.fromkeys(chosen))))
    return tuple(routes)


def notifications(r: Reader, data: Any, path: tuple) -> Notifications:
    """The ``notifications`` section; every issue is reported through ``r``."""
    section = r.mapping(data, path, keys.NOTIFICATIONS)
    listed = section.get("receivers")
    receivers: list[Receiver] = []
    if listed is not None and not isinstance(listed, dict):
        r.fail(
            (*path, "receivers"),
            f"must map receiver names to integrations, got {check.describe(listed)}",
        )
    elif listed:
        for name, value in listed.items():
            receiver = _receiver(r, name, value, (*path, "receivers", str(name)))
            if receiver is not None:
                receivers.append(receiver)
    names = {receiver.name for receiver in receivers}
    routes = _routes(r, section.get("routes"), (*path, "routes"), names)
    return Notifications(tuple(sorted(receivers, key=lambda x: x.name)), routes)

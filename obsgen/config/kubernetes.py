"""Reading ``kubernetes:``: where the prometheus-operator objects go and what they select.
Every name is checked as Kubernetes checks it, so that ``kubectl apply`` never refuses them."""

from __future__ import annotations

import re
from typing import Any

from . import keys
from . import validation as check
from .model import MONITORS, Kubernetes
from .validation import Reader

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
_PORT_NAME = re.compile(r"^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$")


def _matching(pattern: re.Pattern[str], what: str):
    def check_value(value: Any) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError(f"must be {what}, got {check.describe(value)}")
        return value

    return check_value


namespace = _matching(_DNS_LABEL, "a namespace name: 1 to 63 lowercase letters, digits or '-'")
object_name = _matching(
    _DNS_SUBDOMAIN, "an object name: lowercase letters, digits, '-' and '.', at most 253"
)
label_value = _matching(
    _LABEL_VALUE,
    "a label value: at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends",
)
port_name = _matching(
    _PORT_NAME, "a port name: 1 to 15 lowercase letters, digits or '-', with a letter"
)


def label_key(value: Any) -> str:
    """A label key: a name, optionally after a DNS-subdomain prefix and a slash."""
    if isinstance(value, str):
        prefix, _, name = value.rpartition("/")
        if _LABEL_NAME.match(name) and (not prefix or _DNS_SUBDOMAIN.match(prefix)):
            return value
    raise ValueError(
        "must be a label key such as app.kubernetes.io/name (an optional DNS prefix and '/', "
        f"then at most 63 letters, digits, '-', '_' or '.'), got {check.describe(value)}"
    )


def _labels(r: Reader, data: Any, path: tuple) -> tuple[tuple[str, str], ...] | None:
    """A mapping of label keys to values; None if absent."""
    if data is None:
        return None
    if not isinstance(data, dict) or not data:
        r.fail(path, f"must map label keys to values, got {check.describe(data)}")
        return None
    labels = []
    for key, value in data.items():
        checked_key = r.checked((*path, str(key)), key, label_key)
        checked_value = r.checked((*path, str(key)), value, label_value)
        if checked_key is not None and checked_value is not None:
            labels.append((checked_key, checked_value))
    return tuple(sorted(labels))


def kubernetes(r: Reader, top: dict[str, Any], path: tuple) -> Kubernetes | None:
    """The ``kubernetes`` section of the document ``top``; None if it has none (an empty
    section asks for the defaults)."""
    if path[-1] not in top:
        return None
    data = top[path[-1]]
    section = r.mapping(data, path, keys.KUBERNETES)
    default = Kubernetes()
    return Kubernetes(
        namespace=r.value(section, path, "namespace", namespace, default.namespace),
        release=r.value(section, path, "release", label_value, default.release),
        monitor=r.value(section, path, "monitor", check.one_of(*MONITORS), default.monitor),
        selector=_labels(r, section.get("selector"), (*path, "selector")) or (),
        port=r.value(section, path, "port", port_name, default.port),
        secret=r.value(section, path, "secret", object_name, default.secret),
        dashboard_labels=_labels(r, section.get("dashboard_labels"), (*path, "dashboard_labels"))
        or default.dashboard_labels,
    )

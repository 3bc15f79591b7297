"""What the prometheus-operator objects need beyond the rules, the dashboard and the routing:
where they go, what they select, and the key of each file the config names in the one Secret
that holds them in the cluster (the file's own name, as ``kubectl create secret generic
--from-file`` keys it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from obsgen.config import Config
from obsgen.config.model import Kubernetes
from obsgen.config.validation import Reader

#: The Secret key of the scrape's basic-auth user name (a file holds only the password).
SCRAPE_USERNAME_KEY = "scrape-username"
#: The label of every object obsgen renders, naming who manages it.
MANAGED_BY = ("app.kubernetes.io/managed-by", "obsgen")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")


@dataclass(frozen=True)
class KubernetesPlan:
    """The cluster's side of the plan: ``settings`` as configured, the resolved ``selector``,
    the scrape ``job`` label, and the Secret key of each file (file, key)."""

    settings: Kubernetes
    selector: tuple[tuple[str, str], ...]
    job: str
    secret_keys: tuple[tuple[str, str], ...]

    def labels(self) -> dict[str, str]:
        """Labels of every object: managed by obsgen, and the release the operator selects."""
        return dict([MANAGED_BY, ("release", self.settings.release)])

    def key_of(self, file: str) -> str:
        return dict(self.secret_keys)[file]


def secret_files(config: Config) -> list[tuple[tuple[str, ...], str]]:
    """(config path, file) of every secret the config keeps in a file."""
    found: list[tuple[tuple[str, ...], str]] = []
    scrape = config.prometheus.scrape
    base = ("prometheus", "scrape")
    if scrape.basic_auth is not None:
        found.append(((*base, "basic_auth", "password_file"), scrape.basic_auth.password_file))
    if scrape.tls is not None:
        for key in ("ca_file", "cert_file", "key_file"):
            if (file := getattr(scrape.tls, key)) is not None:
                found.append(((*base, "tls", key), file))
    for receiver in config.notifications.receivers:
        where = ("notifications", "receivers", receiver.name)
        for kind in ("slack", "webhook", "email", "pagerduty"):
            integration = getattr(receiver, kind)
            if integration is None:
                continue
            for key, value in vars(integration).items():
                if key.endswith("_file") and value is not None:
                    found.append(((*where, kind, key), value))
    return found


def secret_key(file: str) -> str:
    """The key of ``file`` in the Secret: its name."""
    return PurePosixPath(file).name


def kubernetes_issues(config: Config, r: Reader) -> None:
    """Files whose names cannot be Secret keys, or would share one."""
    if config.kubernetes is None:
        return
    job = config.prometheus.scrape.job_name
    if not config.kubernetes.selector and not _LABEL_VALUE.match(job):
        r.fail(
            ("kubernetes", "selector"),
            f"is needed: the scrape job name {job!r} cannot be the value of the default selector "
            "label app.kubernetes.io/name; name the labels of the service",
        )
    owner: dict[str, str] = {}
    for path, file in secret_files(config):
        key = secret_key(file)
        if not _SECRET_KEY.match(key) or key == SCRAPE_USERNAME_KEY:
            r.fail(
                path,
                f"{file!r} cannot be a key of the Kubernetes Secret: name the file with letters, "
                f"digits, '-', '_' or '.' only (and not {SCRAPE_USERNAME_KEY})",
            )
        elif owner.setdefault(key, file) != file:
            r.fail(
                path,
                f"{file!r} and {owner[key]!r} would both be the key {key!r} of the Kubernetes "
                "Secret: give the files different names",
            )


def kubernetes_plan(config: Config) -> KubernetesPlan | None:
    """The cluster's side of the plan; None if the config asks for no Kubernetes objects."""
    settings = config.kubernetes
    if settings is None:
        return None
    job = config.prometheus.scrape.job_name
    selector = settings.selector or (("app.kubernetes.io/name", job),)
    keys = tuple(sorted({(file, secret_key(file)) for _, file in secret_files(config)}))
    return KubernetesPlan(settings, selector, job, keys)

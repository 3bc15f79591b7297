"""Options and errors every obsgen command shares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from llmobs.configfile import ConfigError, RuntimeConfig, load_runtime, printable
from obsgen import config as configuration
from obsgen import plan

F = TypeVar("F", bound=Callable[..., Any])
config_option = click.option(
    "-c",
    "--config",
    "config_path",
    default=configuration.DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The obsgen config file.",
)


def optional_config_option(read_for: str) -> Callable[[F], F]:
    """``-c/--config``, naming an obsgen.yaml that is read only when there is one, for
    ``read_for`` (what the command takes from it)."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help=f"The obsgen.yaml {read_for} [default: obsgen.yaml, when there is one].",
    )


db_option = click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False),
    default=None,
    help="The cost tracker's SQLite file or postgresql:// URL [default: $LLMOBS_COST_DB or "
    "~/.local/share/llmobs/costs.sqlite3].",
)
out_option = click.option(
    "-o",
    "--out",
    "out_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The folder the generated files live under (the repository root).",
)


class UsageError(click.ClickException):
    """A one-line error, exit code 2, as every obsgen error is."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"obsgen: error: {printable(self.message)}", err=True)


def load_config(path: str) -> configuration.Config:
    """The config, checked against what obsgen generates too, or every issue on its own
    line and exit code 2."""
    try:
        config = configuration.load(path)
        issues = plan.config_issues(config)
        if issues is not None:
            raise issues
    except configuration.ConfigError as exc:
        for issue in exc.issues[:-1]:
            click.echo(f"obsgen: error: {issue}", err=True)
        raise UsageError(str(exc.issues[-1])) from None
    return config


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("obsgen")
    except PackageNotFoundError:
        return "dev"


def runtime_config(path: str | None) -> RuntimeConfig | None:
    """The runtime's part of the config at ``path``, else of ``obsgen.yaml`` if there is one."""
    if path is None and not Path(configuration.DEFAULT_CONFIG).exists():
        return None
    try:
        return load_runtime(path or configuration.DEFAULT_CONFIG)
    except ConfigError as exc:
        raise UsageError(str(exc.issues[0])) from None

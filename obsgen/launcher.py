"""The ``obsgen`` command's entry point: a clear message when the generator's extra
dependencies are not installed (``pip install 'obsgen[generator]'``)."""

from __future__ import annotations

import sys

GENERATOR_MODULES = ("click", "jinja2", "grafanalib")


def main() -> None:
    """Run the command line, or say which extra it needs."""
    try:
        from obsgen.tools.cli import main as cli_main
    except ModuleNotFoundError as exc:
        if exc.name not in GENERATOR_MODULES:
            raise
        sys.exit(
            f"obsgen: error: the generator needs {exc.name}, which llmobs alone does not: "
            "pip install 'obsgen[generator]'"
        )
    cli_main()

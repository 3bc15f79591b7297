"""Fixtures of the integration tests: a real PostgreSQL server, a cost database of each backend
for the tests every backend must pass, and a local server that answers like the LLM providers,
with a fresh observer to record the calls made to it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg_server import PostgresServer, require_postgres
from tests.provider_server import ProviderServer
from tests.unit.samples import observed_stack

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (a folder of its own: pytest's is private to
    root, and the server may run as another user)."""
    require_postgres()
    root = Path(tempfile.mkdtemp(prefix="llmobs-postgres-"))
    server = PostgresServer(root)
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=BACKENDS)
def cost_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty cost database: an SQLite file, or a PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "costs.sqlite3")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture(scope="module")
def server() -> Iterator[ProviderServer]:
    """A local server that answers like the OpenAI, Anthropic, Gemini and Bedrock APIs."""
    with ProviderServer() as running:
        yield running


@pytest.fixture
def observed():
    """A fresh registry, and an observer (with calculator and tracker) recording into it."""
    return observed_stack()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is an integration test: it starts processes or servers."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.integration)

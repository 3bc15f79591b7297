"""``obsgen prices update`` against a local HTTP server that publishes genai-prices' data."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from llmobs.price_data import load_price_data
from obsgen.tools.cli import cli

FIXTURE = Path(__file__).parents[1] / "fixtures" / "genai_prices_data.json"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def published(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A server of ``tmp_path/site``, holding genai-prices' data as ``data.json``."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "data.json").write_text(FIXTURE.read_text())
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no obsgen.yaml unless a test writes one


def update(tmp_path: Path, *args: str):
    return CliRunner().invoke(cli, ["prices", "update", *args], catch_exceptions=False)


def test_dry_run_shows_the_diff_against_the_bundled_data_and_writes_nothing(tmp_path, published):
    url, _ = published
    target = tmp_path / "prices.json"
    result = update(tmp_path, "--url", f"{url}/data.json", "--to", str(target), "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("prices now: genai-prices' bundled data, installed ")
    assert "+ openai/gpt-9: input 4, output 30" in lines
    assert "~ openai/gpt-4o: input 2.5 -> 2, output 10 -> 8, cache read 1.25 -> 1" in lines
    assert "- anthropic/claude-2" in lines
    assert not target.exists()


def test_data_lacking_most_models_is_refused_unless_forced(tmp_path, published):
    url, _ = published
    target = tmp_path / "prices.json"
    refused = update(tmp_path, "--url", f"{url}/data.json", "--to", str(target))
    assert refused.exit_code == 2
    assert "lacks" in refused.output and "--force writes it" in refused.output
    assert not target.exists()
    forced = update(tmp_path, "--url", f"{url}/data.json", "--to", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    data = load_price_data(target)
    assert data.models == 4 and data.source == str(target)


def test_an_update_shows_what_changed_since_the_last_one(tmp_path, published):
    url, site = published
    target = tmp_path / "prices.json"
    update(tmp_path, "--url", f"{url}/data.json", "--to", str(target), "--force")
    raw = json.loads(FIXTURE.read_text())
    raw[0]["models"][0]["prices"]["output_mtok"] = 9.0
    gpt_10 = {"id": "gpt-10", "match": {"equals": "gpt-10"}, "prices": {"input_mtok": 5}}
    raw[0]["models"].append(gpt_10)
    (site / "data.json").write_text(json.dumps(raw))
    result = update(tmp_path, "--url", f"{url}/data.json", "--to", str(target))
    assert result.exit_code == 0, result.output
    assert "~ openai/gpt-4o: output 8 -> 9" in result.output
    assert "+ openai/gpt-10: input 5" in result.output
    assert "models added: 1, removed: 0, repriced: 1, unchanged: 3" in result.output
    assert load_price_data(target).models == 5


def test_the_config_names_the_url_and_the_file(tmp_path, published):
    url, _ = published
    (tmp_path / "obsgen.yaml").write_text(
        f"apiVersion: obsgen/v1\nprices:\n  update_url: {url}/data.json\n  data_file: p.json\n"
    )
    result = update(tmp_path, "-c", str(tmp_path / "obsgen.yaml"), "--force")
    assert result.exit_code == 0, result.output
    assert f"from {url}/data.json" in result.output and "LLMOBS_PRICE_DATA=p.json" in result.output


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("missing.json", None, "HTTP 404"),
        ("bad.json", "{not json", "not valid JSON"),
        ("object.json", '{"providers": []}', "expected genai-prices' list of providers"),
        ("wrong.json", '[{"id": "openai", "models": 3}]', "not genai-prices' price data"),
    ],
)
def test_a_failed_fetch_is_one_line_and_writes_nothing(tmp_path, published, path, body, message):
    url, site = published
    if body is not None:
        (site / path).write_text(body)
    target = tmp_path / "prices.json"
    result = update(tmp_path, "--url", f"{url}/{path}", "--to", str(target), "--force")
    assert result.exit_code == 2
    assert result.output.startswith("obsgen: error: ") and message in result.output
    assert not target.exists()


def test_a_url_that_is_not_http_is_refused(tmp_path):
    result = update(tmp_path, "--url", "file:///etc/passwd", "--to", str(tmp_path / "p.json"))
    assert result.exit_code == 2 and "http:// or https://" in result.output

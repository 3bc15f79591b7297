"""``dashboard.traces``: where Grafana opens the trace of an exemplar, set on the data source
obsgen provisions (the local stack's and the central one's), in Grafana's own terms."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmobs.exemplars import TRACE_ID_LABEL
from obsgen import paths
from obsgen.config import load
from obsgen.output import generate
from tests.unit.test_config import errors_of, mutate

JAEGER = "https://jaeger.example.com/trace/${__value.raw}"


def data_source(tmp_path: Path, text: str, path: str = paths.DATASOURCE) -> dict:
    (tmp_path / "obsgen.yaml").write_text(text)
    files = generate(load(tmp_path / "obsgen.yaml"))
    return yaml.safe_load(files[path])["datasources"][0]


def test_without_traces_the_data_source_links_nowhere(tmp_path):
    source = data_source(tmp_path, mutate("dashboard.traces", None))
    assert "exemplarTraceIdDestinations" not in source["jsonData"]
    assert (source["uid"], source["url"]) == ("prometheus", "${OBSGEN_PROMETHEUS_URL}")


def test_a_trace_data_source_is_linked_by_uid(tmp_path):
    source = data_source(tmp_path, mutate("dashboard.traces", {"datasource_uid": "tempo"}))
    assert source["jsonData"]["exemplarTraceIdDestinations"] == [
        {"name": TRACE_ID_LABEL, "datasourceUid": "tempo"}
    ]


def test_an_outside_trace_page_keeps_its_placeholder_from_grafanas_environment_lookup(tmp_path):
    source = data_source(tmp_path, mutate("dashboard.traces", {"url": JAEGER}))
    (link,) = source["jsonData"]["exemplarTraceIdDestinations"]
    # Provisioning reads $ as an environment lookup; $$ is a literal $.
    assert link["url"] == "https://jaeger.example.com/trace/$${__value.raw}"
    assert link["name"] == TRACE_ID_LABEL


def test_the_central_data_source_links_the_same_way(tmp_path):
    document = yaml.safe_load(mutate("dashboard.traces", {"datasource_uid": "tempo"}))
    document["topology"] = {"kind": "central"}
    source = data_source(tmp_path, yaml.safe_dump(document), paths.CENTRAL_DATASOURCE)
    assert source["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"] == "tempo"
    assert source["url"] == "http://localhost:8428"


@pytest.mark.parametrize(
    ("traces", "error"),
    [
        (
            {"datasource_uid": "tempo", "url": JAEGER},
            "dashboard.traces: give one of datasource_uid (a trace data source of the same "
            "Grafana) and url, got datasource_uid and url",
        ),
        (
            {},
            "dashboard.traces: give one of datasource_uid (a trace data source of the same "
            "Grafana) and url, got neither",
        ),
        (
            {"datasource_uid": "tempo/prod"},
            "dashboard.traces.datasource_uid: must be 1 to 40 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, got 'tempo/prod'",
        ),
        (
            {"url": "https://jaeger.example.com/trace/"},
            "dashboard.traces.url: must hold ${__value.raw} where the trace id goes, got "
            "'https://jaeger.example.com/trace/'",
        ),
        (
            {"url": "https://me:secret@jaeger.example.com/trace/${__value.raw}"},
            "dashboard.traces.url: must not hold credentials (user:password@): they would be "
            "written into the generated files; keep the trace store's credentials in Grafana",
        ),
        ({"tempo": "x"}, "dashboard.traces.tempo: "),
        ("tempo", "dashboard.traces: must be a mapping, got 'tempo'"),
    ],
)
def test_a_wrong_trace_link_is_one_clear_error(tmp_path, traces, error):
    errors = errors_of(mutate("dashboard.traces", traces), tmp_path)
    assert len(errors) == 1 and errors[0].startswith(error), errors

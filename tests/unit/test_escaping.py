"""Config text lands in YAML, PromQL strings and Go templates as text, never as structure or
code."""

from __future__ import annotations

import ast

import yaml
from hypothesis import given
from hypothesis import strategies as st

from obsgen.catalogue.alerts import template_text
from obsgen.catalogue.promql import string_literal
from obsgen.plan.alert_scenarios import _render
from obsgen.render.templating import yaml_string

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@given(TEXT)
def test_any_text_is_one_yaml_string(text):
    quoted = yaml_string(text)
    assert "\n" not in quoted
    assert "\\ud8" not in quoted  # no surrogate escapes, which Go's YAML parser rejects
    assert yaml.safe_load(f"key: {quoted}\nnext: 1") == {"key": text, "next": 1}


@given(TEXT)
def test_any_text_is_one_promql_string(text):
    literal = string_literal(text)
    assert ast.literal_eval(literal) == text  # Go's escapes are a subset of Python's
    assert literal.isprintable()


@given(TEXT)
def test_any_text_renders_as_itself_in_an_annotation(text):
    assert _render(f"before {template_text(text)} after", 1.0, {}) == f"before {text} after"


def test_plain_text_stays_plain_in_annotations():
    assert template_text("ops team daily") == "ops team daily"
    assert template_text('{{ query "up" }}') == '{{ "{{ query \\"up\\" }}" }}'


def test_emoji_stay_emoji_in_yaml():
    assert yaml_string("🤖 bots") == '"🤖 bots"'

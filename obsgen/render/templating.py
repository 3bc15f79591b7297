"""The Jinja environment of the YAML renderers: strict, with filters that keep every value
from changing the document's structure."""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import asdict
from typing import Any

import jinja2

# Characters a YAML double-quoted scalar must escape: YAML's non-printable ones, and the ones
# that parsers treat as line breaks or byte order marks.
_YAML_ESCAPE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff\\\"\t\n\r]"
)
_YAML_SHORT = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def yaml_string(text: str) -> str:
    """``text`` as a YAML double-quoted scalar; non-ASCII text stays as it is (never as the
    surrogate escapes that YAML parsers reject), every character that could end the string or
    the line is escaped."""
    return (
        '"'
        + _YAML_ESCAPE.sub(lambda m: _YAML_SHORT.get(m.group(), f"\\u{ord(m.group()):04x}"), text)
        + '"'
    )


def _quoted(value: Any) -> str:
    """Any scalar as a YAML value that cannot change the document's structure."""
    if isinstance(value, str):
        return yaml_string(value)
    return json.dumps(value)


def _block(text: str, indent: int) -> str:
    """Text as a YAML literal block, every line indented: nothing in it can break out."""
    pad = " " * indent
    return "|-\n" + "\n".join(pad + line if line else "" for line in str(text).splitlines())


def _tls_items(tls: Any) -> list[tuple[str, Any]]:
    return [(key, value) for key, value in asdict(tls).items() if value not in (None, False)]


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("obsgen.render", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(q=_quoted, block=_block, tls_items=_tls_items)
    return env


def relative(from_file: str, to_file: str) -> str:
    """The path of ``to_file`` as seen from the folder of ``from_file`` (both relative to the
    output folder)."""
    return posixpath.relpath(to_file, posixpath.dirname(from_file) or ".")

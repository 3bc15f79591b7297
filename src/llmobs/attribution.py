"""Attribution: who a call's spend belongs to. A call carries tags (``customer``, ``user``,
``feature``, ``environment``, and keys a tracker declares), set per call or for every call made
inside ``with llmobs.attribute(...)``. The cost store keeps each entry's tags and sums spend per
tag value, as it does per agent and model.

Example:
    >>> with attribute(customer="acme", feature="search"):
    ...     with attribute(feature="summary"):
    ...         dict(current_tags())
    {'customer': 'acme', 'feature': 'summary'}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from .errors import InvalidRecordError, Reason
from .store.base import TAG_KEY, is_tag_key

#: The tag keys every tracker knows.
BUILTIN_KEYS = ("customer", "user", "feature", "environment")
MAX_VALUE_LENGTH = 256

#: A call's tags as the store keeps them: (key, value) pairs sorted by key.
Tags = tuple[tuple[str, str], ...]

_EMPTY: Mapping[str, object] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, object]] = ContextVar("llmobs_attribution", default=_EMPTY)


@contextmanager
def attribute(**tags: object) -> Iterator[Mapping[str, object]]:
    """Attribute every call recorded inside (``LLMObserver``, ``llmobs.instrument``,
    ``CostTracker.record_cost``) to ``tags``; nested blocks add to the outer tags and win on
    the same key, and ``key=None`` removes one. Values are checked when a call is recorded: a
    bad one is left off and counted, never raised here."""
    merged = {**_CONTEXT.get(), **tags}
    current = MappingProxyType({k: v for k, v in merged.items() if v is not None})
    token = _CONTEXT.set(current)
    try:
        yield current
    finally:
        _CONTEXT.reset(token)


def current_tags() -> Mapping[str, object]:
    """The tags of the innermost ``attribute`` block (empty outside any)."""
    return _CONTEXT.get()


def attribution_keys(declared: Iterable[str] = ()) -> frozenset[str]:
    """The built-in keys and ``declared``; ValueError naming a key that cannot be one."""
    if isinstance(declared, str):
        raise ValueError(f"attribution keys must be a list of names, got {declared!r}")
    keys = set(BUILTIN_KEYS)
    for key in declared:
        if not isinstance(key, str) or not TAG_KEY.fullmatch(key):
            raise ValueError(
                f"attribution key {key!r} must be a lower-case name of letters, digits and "
                "underscores, starting with a letter, at most 40 characters"
            )
        if not is_tag_key(key):
            raise ValueError(f"attribution key {key!r} is a name llmobs uses; choose another")
        keys.add(key)
    return frozenset(keys)


def _value(key: str, value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidRecordError(
            Reason.INVALID_TAG, f"tag {key!r} must be a string, got {type(value).__name__}"
        )
    text = value.strip()
    if not text or len(text) > MAX_VALUE_LENGTH or not text.isprintable():
        raise InvalidRecordError(
            Reason.INVALID_TAG,
            f"tag {key!r} must be printable text of 1 to {MAX_VALUE_LENGTH} characters, "
            f"got {value[:40]!r}",
        )
    return text


def clean_tags(
    given: object,
    keys: frozenset[str],
    rejected: Callable[[InvalidRecordError], object],
) -> Tags:
    """The tags of a record: the current ``attribute`` block's, with ``given`` winning, checked
    against ``keys``. A tag with an undeclared key or a bad value is left off and passed to
    ``rejected`` (which counts it); the record keeps its other tags."""
    context = _CONTEXT.get()
    if not given and not context:
        return ()
    if given is not None and not isinstance(given, Mapping):
        rejected(InvalidRecordError(Reason.INVALID_TAG, f"tags must be a mapping, got {given!r}"))
        given = None
    merged: dict[object, object] = {}
    merged.update(context)
    merged.update(given or {})
    tags: dict[str, str] = {}
    for key, value in merged.items():
        if value is None:
            continue
        try:
            if not isinstance(key, str) or key not in keys:
                raise InvalidRecordError(
                    Reason.INVALID_TAG,
                    f"tag key {key!r} is not declared (known: {', '.join(sorted(keys))}); "
                    "declare it in the tracker's attribution keys",
                )
            tags[key] = _value(key, value)
        except InvalidRecordError as error:
            rejected(error)
    return tuple(sorted(tags.items()))


def uncounted(_error: InvalidRecordError) -> None:
    """The ``rejected`` of ``clean_tags`` for a second reading of tags whose rejections the
    cost tracker counts already."""


#: Tags ``llmobs.instrument`` gives a call, as given: fixed, or read from its request.
TagSource = Mapping[str, object] | Callable[[Mapping[str, Any]], Mapping[str, object] | None]


def request_tags(request: Mapping[str, Any]) -> dict[str, object]:
    """The tags a provider request names itself, for ``llmobs.instrument(tags=request_tags)``:
    ``user`` from OpenAI's ``user`` (or ``safety_identifier``) and Anthropic's
    ``metadata.user_id``, and every built-in key among OpenAI's ``metadata``."""
    tags: dict[str, object] = {}
    metadata = request.get("metadata")
    if isinstance(metadata, Mapping):
        tags.update((key, metadata[key]) for key in BUILTIN_KEYS if key in metadata)
        if "user_id" in metadata:
            tags["user"] = metadata["user_id"]
    for field in ("safety_identifier", "user"):
        if request.get(field) is not None:
            tags["user"] = request[field]
    return tags


def tags_text(tags: Tags) -> str | None:
    """Tags as the store writes them: compact JSON, keys sorted; None for none."""
    if not tags:
        return None
    text = _TEXTS.get(tags)
    if text is None:
        if len(_TEXTS) >= MAX_CACHED_TEXTS:
            _TEXTS.clear()
        text = _TEXTS[tags] = _ENCODER.encode(dict(tags))
    return text


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
#: The texts of recent tags: calls of one customer and feature repeat them.
_TEXTS: dict[Tags, str] = {}
MAX_CACHED_TEXTS = 4096


def tags_of_text(text: object) -> dict[str, str]:
    """Tags as the store read them (JSON text, or None for none)."""
    if not text:
        return {}
    found = json.loads(str(text))
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

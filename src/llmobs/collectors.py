"""Prometheus client collectors built from the schema, one set per registry."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, cast

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, values

from .exposition import multiprocess_dir
from .schema import RECORDED_METRICS, MetricKind, MetricSpec

#: A Counter, Gauge or Histogram as its spec's kind says; its children have that kind's
#: ``inc``/``set``/``observe``, which one static type cannot express for the whole mapping.
Collectors = dict[str, Any]

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, Collectors] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _build(spec: MetricSpec, registry: CollectorRegistry) -> Any:
    if spec.kind is MetricKind.COUNTER:
        return Counter(spec.base_name, spec.help, spec.labels, registry=registry)
    if spec.kind is MetricKind.GAUGE:
        return Gauge(
            spec.name,
            spec.help,
            spec.labels,
            registry=registry,
            multiprocess_mode=cast(Any, spec.multiprocess_mode or "all"),
        )
    return Histogram(
        spec.name,
        spec.help,
        spec.labels,
        registry=registry,
        buckets=spec.buckets or Histogram.DEFAULT_BUCKETS,
    )


def _check_multiprocess_dir() -> None:
    """In multiprocess mode every value lives in a file in ``PROMETHEUS_MULTIPROC_DIR``: say
    clearly when that folder is missing, rather than fail on a file inside it."""
    if values.ValueClass is values.MutexValue:
        return
    path = multiprocess_dir()
    if path and not os.path.isdir(path):
        raise ValueError(
            f"PROMETHEUS_MULTIPROC_DIR={path!r} is not a folder: create it (empty) before the "
            "service starts, or unset it for single-process mode"
        )


def collectors_for(registry: CollectorRegistry | None = None) -> Collectors:
    """Return the collectors of every recorded metric in ``registry``, keyed by exposed name.

    They are registered once per registry: asking again returns the same objects, so building
    several ``LLMMetrics`` on one registry never fails with "Duplicated timeseries".
    """
    target = REGISTRY if registry is None else registry
    _check_multiprocess_dir()
    with _lock:
        collectors = _by_registry.get(target)
        if collectors is None:
            collectors = {}
            try:
                for spec in RECORDED_METRICS:
                    collectors[spec.name] = _build(spec, target)
            except ValueError as exc:
                for built in collectors.values():
                    target.unregister(built)
                raise ValueError(
                    f"cannot register llmobs metrics: {exc}; another collector in this registry "
                    "already uses an llmobs metric name"
                ) from exc
            _by_registry[target] = collectors
        return collectors

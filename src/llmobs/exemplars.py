"""The trace a call is recorded in, as an OpenMetrics exemplar.

When the service traces with OpenTelemetry and a sampled span is active where a call is
recorded, the latency, time-to-first-token and cost series take an exemplar with its
``trace_id`` and ``span_id``, which Prometheus keeps (``--enable-feature=exemplar-storage``) and
Grafana links to the trace. Without OpenTelemetry imported, reading it costs a dictionary
lookup. Exemplars are served in the OpenMetrics format only, which Prometheus asks for; the
multiprocess mode of prometheus_client drops them.

Example:
    >>> current() is None  # no span is active here
    True
"""

from __future__ import annotations

import sys

Exemplar = dict[str, str]
#: The exemplar label holding the trace id, which Grafana's trace link reads.
TRACE_ID_LABEL = "trace_id"


def current() -> Exemplar | None:
    """The active sampled span's trace and span ids, None without one."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not (context.is_valid and context.trace_flags.sampled):
        return None
    return {
        TRACE_ID_LABEL: format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
    }

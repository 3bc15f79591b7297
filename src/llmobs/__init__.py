"""llmobs: Prometheus metrics and cost tracking for LLM services.

Example:
    >>> from llmobs import get_llm_metrics
    >>> metrics = get_llm_metrics()
    >>> with metrics.track_request("agent.id", "gpt-4", "openai"):
    ...     pass
"""

from prometheus_client import CONTENT_TYPE_LATEST

from .errors import InvalidRecordError, Reason
from .exposition import make_asgi_app, make_wsgi_app, mark_process_dead, start_metrics_server
from .metrics import ActiveRequest, LLMMetrics, get_llm_metrics
from .schema import METRICS, MetricKind, MetricSpec, TokenType

__all__ = [
    "CONTENT_TYPE_LATEST",
    "METRICS",
    "ActiveRequest",
    "InvalidRecordError",
    "LLMMetrics",
    "MetricKind",
    "MetricSpec",
    "Reason",
    "TokenType",
    "get_llm_metrics",
    "make_asgi_app",
    "make_wsgi_app",
    "mark_process_dead",
    "start_metrics_server",
]

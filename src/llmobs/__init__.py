"""llmobs: Prometheus metrics and cost tracking for LLM services.

Example:
    >>> from llmobs import get_llm_metrics
    >>> metrics = get_llm_metrics()
    >>> with metrics.track_request("agent.id", "gpt-4", "openai"):
    ...     pass
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from prometheus_client import CONTENT_TYPE_LATEST

from .agent_runs import AgentRun, agent_run, current_agent_run
from .attribution import attribute, request_tags
from .cost import CostTracker, get_cost_tracker
from .cost_reports import CostEntry
from .enforcement import (
    Budget,
    BudgetExceededError,
    BudgetUnavailableError,
    Reservation,
    Run,
    Scope,
)
from .errors import InvalidRecordError, Reason
from .exposition import make_asgi_app, make_wsgi_app, mark_process_dead, start_metrics_server
from .instrument import agent, instrument, instrument_sdk, uninstrument, uninstrument_sdk
from .metrics import ActiveRequest, LLMMetrics, get_llm_metrics
from .observer import LLMCall, LLMObserver
from .otel import disable_otel, enable_otel
from .price_overrides import PriceFileError
from .pricing import LLMCostCalculator, ModelPricing
from .rates import Media
from .schema import METRICS, MetricKind, MetricSpec, TokenType
from .store import CostStoreError
from .summaries import DailyCostSummary, PeriodCostSummary
from .usage import TokenUsage, extract_usage

try:
    __version__ = _version("obsgen")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "CONTENT_TYPE_LATEST",
    "METRICS",
    "ActiveRequest",
    "AgentRun",
    "Budget",
    "BudgetExceededError",
    "BudgetUnavailableError",
    "CostEntry",
    "CostStoreError",
    "CostTracker",
    "DailyCostSummary",
    "InvalidRecordError",
    "LLMCall",
    "LLMCostCalculator",
    "LLMMetrics",
    "LLMObserver",
    "Media",
    "MetricKind",
    "MetricSpec",
    "ModelPricing",
    "PeriodCostSummary",
    "PriceFileError",
    "Reason",
    "Reservation",
    "Run",
    "Scope",
    "TokenType",
    "TokenUsage",
    "agent",
    "agent_run",
    "attribute",
    "current_agent_run",
    "disable_otel",
    "enable_otel",
    "extract_usage",
    "get_cost_tracker",
    "get_llm_metrics",
    "instrument",
    "instrument_sdk",
    "make_asgi_app",
    "make_wsgi_app",
    "mark_process_dead",
    "request_tags",
    "start_metrics_server",
    "uninstrument",
    "uninstrument_sdk",
]

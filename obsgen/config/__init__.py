"""Stage 1: ``obsgen.yaml`` read and validated into a frozen :class:`Config`."""

from .load import load, parse
from .model import API_VERSION, DEFAULT_CONFIG, Config
from .validation import ConfigError, ConfigIssue

__all__ = ["API_VERSION", "DEFAULT_CONFIG", "Config", "ConfigError", "ConfigIssue", "load", "parse"]

"""routecore: Kubernetes Gateway API routing decisions for Python gateways, proxies and middleware."""
from ._errors import ConfigError, ConfigIssue
from ._impl import NATIVE, Decision
from ._load import load
from ._models import Config, Retry, SessionPersistence, Timeouts
from ._outcome import Backend, Mirror
from ._router import Router
from ._version import __version__

__all__ = [
    "NATIVE", "Backend", "Config", "ConfigError", "ConfigIssue", "Decision", "Mirror", "Retry",
    "Router", "SessionPersistence", "Timeouts", "__version__", "load",
]

"""routecore: Kubernetes Gateway API routing decisions for Python gateways, proxies and middleware."""
from typing import TYPE_CHECKING

from ._errors import ConfigError, ConfigIssue
from ._match import NATIVE
from ._config.load import load
from ._config.models import Config, Retry, SessionPersistence, Timeouts
from ._outcome import Backend, BackendTLS, Mirror
from ._router import Router
from ._version import __version__
from .types import View

if TYPE_CHECKING:  # what both twins' decisions are (routecore.types)
    from .types import Decision
else:  # the one runtime type both twins' decisions are instances of
    from ._decision import Decision

__all__ = [
    "NATIVE", "Backend", "BackendTLS", "Config", "ConfigError", "ConfigIssue", "Decision", "Mirror", "Retry",
    "Router", "SessionPersistence", "Timeouts", "View", "__version__", "load",
]

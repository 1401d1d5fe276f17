"""A Kubernetes API test server (see server.py) for routecore.kube's tests and benchmarks."""
from .server import KINDS, ApiError, KubeAPIServer, merge_patch

__all__ = ["KINDS", "ApiError", "KubeAPIServer", "merge_patch"]

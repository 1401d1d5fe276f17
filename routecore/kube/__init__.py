"""routecore.kube: a live Router fed by the Kubernetes API server; status written back by the leader.

    from routecore.kube import KubeSource

    with KubeSource(kubeconfig="~/.kube/config") as source:     # sync: a background thread
        view = source.router.gateway("edge", namespace="infra", port=80)

    async with KubeSource() as source:                         # asyncio; in-cluster or ~/.kube/config
        ...

Needs the ``kube`` extra (httpx).
"""
from ._client import ApiClient, ApiError, ClientConfig, ConfigurationError
from ._kinds import DEFAULT_CONTROLLER, WATCHED, KindInfo
from ._lease import LeaderElector
from ._source import KubeSource

__all__ = ["DEFAULT_CONTROLLER", "WATCHED", "ApiClient", "ApiError", "ClientConfig", "ConfigurationError",
           "KindInfo", "KubeSource", "LeaderElector"]

"""`routecore serve`: the HTTP/1.1 reverse proxy (``proxy``: decide and forward; ``server``: the
client side; ``upstream``: keep-alive pools; ``ops``: logs and checks; ``admin``: /healthz,
/readyz, /metrics)."""
from .proxy import Exchange, Proxy, Settings, serve

__all__ = ["Exchange", "Proxy", "Settings", "serve"]

"""ASGI middleware: Gateway API routing in front of ASGI applications.

    from routecore.asgi import RoutingMiddleware

    app = RoutingMiddleware(fallback_app, router, gateway=("infra", "edge", 80),
                            backends={"store/api:8080": api_app, "store/api-canary:8080": canary_app})

Each ``http`` and ``websocket`` scope is decided with the view's ``route_asgi``. Decisions that do
not forward (404, 421, 500, redirects, CORS preflights) are answered here; gRPC requests
(``content-type: application/grpc...``) get HTTP 200 with ``grpc-status``/``grpc-message`` (as
ASGI trailers when the server offers the ``http.response.trailers`` extension, else a
trailers-only response). A forwarded request reaches the application of its backend with the
URLRewrite and request header filters applied to a copy of the scope, the response header filters
applied to the response start, and the Decision in ``scope["routecore.decision"]`` and
``scope["state"]["routecore.decision"]``. Mirrors are not sent: they are on the decision.
"""
from __future__ import annotations

from urllib.parse import unquote

from ._respond import (DECISION_KEY, MESSAGES, REASONS, MiddlewareBase, PortUnknown,
                       encode_headers, reply, to_bytes)

__all__ = ["RoutingMiddleware"]

_START_TYPES = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})
_WS_POLICY_VIOLATION = 1008


class RoutingMiddleware(MiddlewareBase):
    """ASGI middleware that routes every HTTP and WebSocket request by the Gateway API.

    ``RoutingMiddleware(app, router_or_view, *, gateway=None, service=None,
    client_namespace=None, backends=None)``

    - ``app``: the ASGI application that gets forwarded requests whose backend has no entry in
      ``backends`` (and lifespan events); may be ``None`` when ``backends`` covers every backend
      (a forward to a backend with no application is then answered 502).
    - ``router_or_view``: a ``routecore.Router`` with ``gateway=`` or ``service=``, or a view
      (``router.gateway(...)``/``router.service(...)``). With a Router the view is looked up per
      request, so ``router.reload(...)`` applies to new requests (requests in flight finish on
      the table they started with); a view given directly is fixed.
    - ``gateway=("ns", "name"[, port])`` or ``"ns/name[:port]"``: ingress; without a port, the
      port the request arrived on (``scope["server"]``) selects the listeners.
    - ``service=("ns", "name", port)`` or ``"ns/name:port"``, ``client_namespace=``: mesh.
    - ``backends``: ``{"ns/name:port": asgi_app}`` (or ``"ns/name"`` for any port).
    """

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            return await self._other(scope, receive, send)
        view = self._view
        if view is None:
            try:
                if self._fixed:
                    view = self._resolve(None)
                else:
                    server = scope.get("server")
                    view = self._resolve(server[1] if server else None)
            except LookupError as exc:  # the Gateway/listener/Service is gone after a reload
                status = 500 if isinstance(exc, PortUnknown) else 404
                return await self._local(kind, scope, receive, send, None, status)
        decision = view.route_asgi(scope)
        if decision.status is not None:
            return await self._local(kind, scope, receive, send, decision, decision.status)

        scope = dict(scope)
        changes = decision.changes  # the public fast path (routecore._decision)
        rewrite = changes.rewrite
        raw = scope.get("raw_path")
        if rewrite is not None or raw is None or decision.request_path != raw.decode("latin-1"):
            _rewrite_target(scope, decision)
        host = rewrite.hostname if rewrite is not None else None
        if changes.request_headers:
            _rewrite_headers(scope, decision, host)
        elif host:
            _rewrite_host(scope, host)
        if changes.response_headers:
            send = _filtered_send(send, decision)
        scope[DECISION_KEY] = decision
        state = scope.get("state")
        if state is None:
            scope["state"] = {DECISION_KEY: decision}
        else:
            state[DECISION_KEY] = decision

        app = self.app if self.backends is None else self.backends.app_for(decision.backend)
        if app is None:
            return await self._local(kind, scope, receive, send, None, 502)
        return await app(scope, receive, send)

    async def _local(self, kind, scope, receive, send, decision, status, message=None):
        if kind == "http":
            await _answer_http(scope, send, decision, status, message)
        else:
            await _deny_websocket(scope, receive, send, decision, status, message)

    async def _other(self, scope, receive, send):
        """Lifespan and any other scope type go to the wrapped app (backend apps get none)."""
        if self.app is not None:
            return await self.app(scope, receive, send)
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return


# --- forwarding ----------------------------------------------------------------------------------

def _rewrite_target(scope, decision):
    """path, raw_path and query_string from decision.upstream_path (the rewritten, normalised
    path; root_path is left as it is)."""
    path, sep, query = decision.upstream_path.partition("?")
    raw = to_bytes(path)
    if raw != scope.get("raw_path"):
        scope["raw_path"] = raw
        scope["path"] = unquote(path)
    query_b = to_bytes(query) if sep else b""
    if query_b != (scope.get("query_string") or b""):
        scope["query_string"] = query_b


def _rewrite_headers(scope, decision, host):
    """headers = the request header filters applied, then Host = ``host`` if not None."""
    pairs = decision.apply_request_headers(scope.get("headers") or ())
    if host:
        pairs = [("host", host)] + [p for p in pairs if p[0].lower() != "host"]
    scope["headers"] = encode_headers(pairs)


def _rewrite_host(scope, host):
    """Host = ``host`` (a URLRewrite hostname), the other headers as they are."""
    scope["headers"] = [(b"host", to_bytes(host))] + [
        (name, value) for name, value in scope.get("headers") or () if name.lower() != b"host"]


def _filtered_send(send, decision):
    """``send`` with the response header filters (and CORS headers) applied to the response
    start (http.response.start, websocket.accept, websocket.http.response.start)."""

    async def filtered(message):
        if message["type"] in _START_TYPES:
            message = dict(message)
            message["headers"] = encode_headers(
                decision.apply_response_headers(message.get("headers") or ()))
        await send(message)

    return filtered


# --- local answers -------------------------------------------------------------------------------

def _is_grpc(scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name.lower() == b"content-type":
            return bytes(value).startswith(b"application/grpc")
    return False


async def _answer_http(scope, send, decision, status, message=None):
    grpc = (decision is not None and decision.grpc_status is not None) or _is_grpc(scope)
    code, headers, body, trailers = reply(status, decision, grpc, message)
    if trailers is None:
        await send({"type": "http.response.start", "status": code,
                    "headers": encode_headers(headers)})
        await send({"type": "http.response.body", "body": body})
    elif "http.response.trailers" in (scope.get("extensions") or ()):
        await send({"type": "http.response.start", "status": code,
                    "headers": encode_headers(headers), "trailers": True})
        await send({"type": "http.response.body", "body": b""})
        await send({"type": "http.response.trailers", "headers": encode_headers(trailers),
                    "more_trailers": False})
    else:  # trailers-only: the gRPC status in the headers of a response without body
        await send({"type": "http.response.start", "status": code,
                    "headers": encode_headers(headers + trailers)})
        await send({"type": "http.response.body", "body": b""})


async def _deny_websocket(scope, receive, send, decision, status, message=None):
    """An HTTP answer to the handshake when the server offers ``websocket.http.response``, else
    websocket.close with code 1008 (the server turns a close before accept into HTTP 403)."""
    first = await receive()
    if first["type"] != "websocket.connect":
        return
    if "websocket.http.response" in (scope.get("extensions") or ()):
        code, headers, body, _ = reply(status, decision, False, message)
        await send({"type": "websocket.http.response.start", "status": code,
                    "headers": encode_headers(headers)})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    location = decision.location if decision is not None else None
    reason = message or (f"redirect to {location}" if location else
                         MESSAGES.get(status, REASONS.get(status, "refused")))
    reason = f"{status} {reason}".encode("utf-8")[:123].decode("utf-8", "ignore")
    await send({"type": "websocket.close", "code": _WS_POLICY_VIOLATION, "reason": reason})

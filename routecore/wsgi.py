"""WSGI middleware: Gateway API routing in front of WSGI applications.

    from routecore.wsgi import RoutingMiddleware

    app = RoutingMiddleware(fallback_app, router, service=("default", "reviews", 9080),
                            backends={"default/reviews-v2:9080": v2_app})

Each request is decided with the view's ``route_wsgi``. Decisions that do not forward (404, 421,
500, redirects, CORS preflights) are answered here (gRPC requests: HTTP 200 with ``grpc-status`` and
``grpc-message`` headers, a trailers-only response: WSGI has no trailers). A forwarded request
reaches the application of its backend with the URLRewrite applied to ``PATH_INFO``/
``SCRIPT_NAME``/``QUERY_STRING`` (and ``RAW_URI``/``REQUEST_URI`` when the server set them), the
request header filters to the ``HTTP_*`` keys, the response header filters applied through
``start_response``, and the Decision in ``environ["routecore.decision"]``. Mirrors are not sent:
they are on the decision.
"""
from __future__ import annotations

from urllib.parse import quote, unquote_to_bytes

from ._adapters import wsgi_headers as _wsgi_headers
from ._respond import (DECISION_KEY, MiddlewareBase, PortUnknown, reply, status_line,
                       wsgi_str)

__all__ = ["RoutingMiddleware"]

# the characters routecore._adapters.route_wsgi leaves unquoted when it rebuilds the target
_SAFE = "/:@!$&'()*+,;=-._~%"
_SPECIAL = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class RoutingMiddleware(MiddlewareBase):
    """WSGI middleware that routes every request by the Gateway API.

    ``RoutingMiddleware(app, router_or_view, *, gateway=None, service=None,
    client_namespace=None, backends=None)``: the same arguments as
    ``routecore.asgi.RoutingMiddleware``, with WSGI applications; a gateway bound without a port
    takes the request's ``SERVER_PORT``.
    """

    def __call__(self, environ, start_response):
        view = self._view
        if view is None:
            try:
                if self._fixed:
                    view = self._resolve(None)
                else:
                    port = environ.get("SERVER_PORT")
                    view = self._resolve(int(port) if port else None)
            except LookupError as exc:  # the Gateway/listener/Service is gone after a reload
                status = 500 if isinstance(exc, PortUnknown) else 404
                return _answer(environ, start_response, None, status)
        decision = view.route_wsgi(environ)
        if decision.status is not None:
            return _answer(environ, start_response, decision, decision.status)

        changes = decision.changes  # the public fast path (routecore._decision)
        rewrite = changes.rewrite
        if rewrite is not None or decision.request_path != _matched_path(environ):
            _rewrite_target(environ, decision)
        host = rewrite.hostname if rewrite is not None else None
        if changes.request_headers:
            _rewrite_headers(environ, decision, host)
        elif host:
            environ["HTTP_HOST"] = wsgi_str(host)
        if changes.response_headers:
            start_response = _filtered_start_response(start_response, decision)
        environ[DECISION_KEY] = decision

        app = self.app if self.backends is None else self.backends.app_for(decision.backend)
        if app is None:
            return _answer(environ, start_response, None, 502)
        return app(environ, start_response)


# --- forwarding ----------------------------------------------------------------------------------

def _matched_path(environ) -> str:
    """The path of the target as route_wsgi built it (before normalisation)."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target:
        return target.partition("?")[0]
    return quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe=_SAFE) or "/"


def _rewrite_target(environ, decision):
    """PATH_INFO/SCRIPT_NAME/QUERY_STRING (and RAW_URI/REQUEST_URI if set) from upstream_path.
    SCRIPT_NAME is kept when the new path still lies under it, else it becomes ""."""
    upstream = decision.upstream_path
    path, sep, query = upstream.partition("?")
    full = unquote_to_bytes(path).decode("latin-1")  # PEP 3333: bytes as latin-1
    script = environ.get("SCRIPT_NAME", "").rstrip("/")
    if script and (full == script or full.startswith(script + "/")):
        path_info = full[len(script):]
    else:
        script, path_info = "", full
    if script + path_info != environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""):
        environ["SCRIPT_NAME"] = script
        environ["PATH_INFO"] = path_info
    environ["QUERY_STRING"] = wsgi_str(query) if sep else ""
    for key in ("RAW_URI", "REQUEST_URI"):
        if key in environ:
            environ[key] = wsgi_str(upstream)


def _rewrite_headers(environ, decision, host):
    """HTTP_* (and CONTENT_TYPE/CONTENT_LENGTH) = the request header filters applied; a repeated
    name is joined with ","; then HTTP_HOST = ``host`` if not None."""
    pairs = decision.apply_request_headers(_wsgi_headers(environ))
    for key in [k for k in environ if k.startswith("HTTP_")]:
        del environ[key]
    for key in _SPECIAL.values():
        environ.pop(key, None)
    for name, value in pairs:
        low = name.lower()
        key = _SPECIAL.get(low) or "HTTP_" + low.upper().replace("-", "_")
        value = wsgi_str(value)
        environ[key] = environ[key] + "," + value if key in environ else value
    if host:
        environ["HTTP_HOST"] = wsgi_str(host)


def _filtered_start_response(start_response, decision):
    def filtered(status, headers, exc_info=None):
        headers = [(wsgi_str(n), wsgi_str(v)) for n, v in decision.apply_response_headers(headers)]
        if exc_info is None:
            return start_response(status, headers)
        return start_response(status, headers, exc_info)

    return filtered


# --- local answers -------------------------------------------------------------------------------

def _answer(environ, start_response, decision, status, message=None):
    grpc = ((decision is not None and decision.grpc_status is not None)
            or environ.get("CONTENT_TYPE", "").startswith("application/grpc"))
    code, headers, body, trailers = reply(status, decision, grpc, message)
    if trailers:  # trailers-only gRPC response
        headers = headers + trailers
    start_response(status_line(code), [(wsgi_str(n), wsgi_str(v)) for n, v in headers])
    return [body]

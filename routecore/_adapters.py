"""ASGI scopes, WSGI environs and request lists turned into calls of ``view.route`` (both twins)."""
from __future__ import annotations

from urllib.parse import quote


def route_asgi(view, scope):
    """Decide an ASGI ``http`` or ``websocket`` scope; the path is taken undecoded (raw_path)."""
    raw = scope.get("raw_path")
    if raw:
        target = raw.decode("latin-1") if isinstance(raw, (bytes, bytearray)) else str(raw)
        target = target.split("?", 1)[0]
    else:
        # the ASGI path already includes root_path; it is decoded UTF-8, so re-encode it so
        target = quote(scope.get("path") or "/", safe="/:@!$&'()*+,;=-._~%")
    qs = scope.get("query_string") or b""
    if qs:
        target += "?" + (qs.decode("latin-1") if isinstance(qs, (bytes, bytearray)) else str(qs))
    scheme = scope.get("scheme")
    if scheme == "ws":
        scheme = "http"
    elif scheme == "wss":
        scheme = "https"
    method = scope.get("method", "GET")
    return view.route(method, target, scope.get("headers") or (), scheme=scheme)


def wsgi_headers(environ) -> list:
    out = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out.append((key[5:].replace("_", "-").lower(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            out.append((key.replace("_", "-").lower(), value))
    return out


def route_wsgi(view, environ):
    """Decide a WSGI environ; RAW_URI/REQUEST_URI are preferred as the undecoded target."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not target:
        # PEP 3333: the path is the request's bytes decoded as latin-1; encode them back so
        target = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
                       safe="/:@!$&'()*+,;=-._~%", encoding="latin-1") or "/"
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME")
    return view.route(environ.get("REQUEST_METHOD", "GET"), target, wsgi_headers(environ),
                      host=host, scheme=environ.get("wsgi.url_scheme"))


def route_many(view, requests):
    """Decide many requests in order: each is (method, target[, headers[, host]]).
    Returns a list of Decisions (for log replay and fuzzing)."""
    route = view.route
    out = []
    for request in requests:
        n = len(request)
        if n == 2:
            out.append(route(request[0], request[1]))
        elif n == 3:
            out.append(route(request[0], request[1], request[2]))
        elif n == 4:
            out.append(route(request[0], request[1], request[2], host=request[3]))
        else:
            raise ValueError(f"a request is (method, target[, headers[, host]]), got {n} items")
    return out

"""Hypothesis strategies and a spec-literal reference decision, for testing a gateway.

``routecore.testing`` needs Hypothesis (``pip install 'routecore[test]'``); ``import routecore``
never imports it. Everything here works on Kubernetes objects as users write them (dicts), so it
can test any Gateway API implementation, not only routecore:

- ``httproutes()``, ``grpcroutes()``: one valid route (knobs: rules, match and filter kinds,
  regexes, hostnames, mesh or gateway parents);
- ``gateways()``: one valid Gateway (listeners on ports 80/443, hostnames, allowedRoutes);
- ``configs()``: a consistent list of objects: routes, Gateways, Services, Namespaces and
  ReferenceGrants (right, or with one field off);
- ``parents(config)``: the entry points of a config (Gateway ports, mesh Service ports and
  client namespaces), as the ``parent`` argument of ``reference_decide``;
- ``requests_for(config)``: request dicts biased to hit, nearly hit and miss its rules;
- ``invalid_httproutes()``: ``InvalidHTTPRoute(obj, path, rule)``: an HTTPRoute that breaks
  exactly one validation rule, the field path a validator must name, and the rule in words;
- ``reference_decide(config, parent, request)``: a deliberately naive decision that reads the
  Gateway API spec literally (every match of every attached route is sorted by the spec's
  precedence, the first that matches wins) and returns a ``ReferenceDecision``.

Alphabets are small on purpose (three namespaces, a handful of paths, header names that differ
only in case...): generated routes collide often, which is where precedence bugs live.

``reference_decide`` uses no routecore internals. Where the spec leaves room it follows the
choices routecore documents in its README ("Choices where the spec leaves room"), each marked
"routecore's choice" below: RE2 full-match regexes and their rank, joined repeated headers,
first query value, path normalisation, request-target forms, Host folding, hostname fallback,
500 for no backend, mesh cross-namespace backends without ReferenceGrant, GRPCRoute method
matches as paths, HTTPRoute/GRPCRoute cross-serving, SNI/421, CORS preflight 204, ExtensionRef.
"""

try:
    import hypothesis as _hypothesis  # noqa: F401  (the guard: checked before the modules that use it)
except ModuleNotFoundError as _exc:  # the light `testing` extra brings it
    if _exc.name != "hypothesis":
        raise
    from .._extras import hint as _hint

    raise ImportError(_hint("hypothesis", "testing", "routecore.testing"), name="hypothesis") from None

# The package's modules (none reads another's private names):
#   _draws     small cached strategies shared by the strategy modules
#   _objects   valid objects: alphabets, routes, Gateways, configs, parents()
#   _requests  requests: generic_requests(), requests_for(config)
#   _invalid   invalid objects: invalid_httproutes(), injected_httproutes()
#   _oracle    the reference decision: reference_decide(), ReferenceDecision (no Hypothesis)
#   _streams   TLS/TCP/UDP configurations and connections: stream_configs(), stream_connections()
#   _oracle_stream  the reference decision for those: reference_decide_stream() (no Hypothesis)
from ._objects import (API_VERSIONS, BACKENDS, CONFLICTING_LISTENERS, FILTER_KINDS, GATEWAY_GROUP,
                       GRPC_API_VERSIONS, GRPC_METHODS, GRPC_METHOD_REGEXES, GRPC_SERVICES,
                       GRPC_SERVICE_REGEXES, GW_ROUTE_HOSTNAMES, HEADER_NAMES, HEADER_REGEXES, HEADER_VALUES,
                       LISTENER_HOSTNAMES, LISTENER_HOSTNAMES_FULL, MATCH_KINDS, NAMESPACES, NS_LABELS,
                       PATH_VALUES, QUERY_NAMES, QUERY_REGEXES, QUERY_VALUES, REGEXES, ROUTE_HOSTNAMES,
                       ROUTE_KINDS, ROUTE_NAMES, SAFE_REGEXES, SELECTORS, TIMESTAMPS, TRICKY_REGEXES,
                       configs, gateways, grpcroutes, httproutes, parents)
from ._requests import (GRPC_CONTENT_TYPES, GRPC_TARGETS, GW_HOSTS, HOSTILE_SEGMENTS, HOSTS, INVALID_HOSTS,
                        QUERIES, REQ_HEADER_NAMES, REQ_HEADER_VALUES, SEGMENTS, SNIS, SPECIAL_TARGETS,
                        generic_requests, requests_for)
from ._invalid import (CONTROLS, HOST_TRICKS, InvalidHTTPRoute, ORIGIN_TRICKS, PATH_TRICKS, TOKEN_TRICKS,
                       injected_httproutes, invalid_httproutes)
from ._oracle import (ReferenceDecision, reference_decide)
from ._streams import (SNIS as STREAM_SNIS, STREAM_LISTENERS, STREAM_PORTS, TLS_ROUTE_HOSTNAMES, stream_configs,
                       stream_connections)
from ._oracle_stream import reference_decide_stream

__all__ = [
    "InvalidHTTPRoute", "ReferenceDecision", "configs", "gateways", "grpcroutes", "httproutes",
    "generic_requests", "injected_httproutes", "invalid_httproutes", "parents", "reference_decide", "register_profiles",
    "requests_for", "reference_decide_stream", "stream_configs", "stream_connections",
]


# --- Hypothesis profiles ---------------------------------------------------------------------------


def register_profiles(*, ci_examples=700, long_examples=20000):
    """Register the Hypothesis profiles "ci" (bounded, derandomized: the same examples every
    run) and "long" (many random examples) unless they exist. ``pytest
    --hypothesis-profile=long`` needs them registered before pytest configures Hypothesis: call
    this from a ``conftest.py``."""
    from hypothesis import HealthCheck, settings
    from hypothesis.errors import InvalidArgument

    common = dict(deadline=None, print_blob=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    for name, kw in (("ci", dict(max_examples=ci_examples, derandomize=True)),
                     ("long", dict(max_examples=long_examples))):
        try:
            settings.get_profile(name)
        except InvalidArgument:
            settings.register_profile(name, **kw, **common)

"""The one public Decision type and the one list of its fields, for both twins.

Invariants: ``FIELDS`` is every public attribute of a Decision, in ``to_dict`` order; the pure
twin's Decision (``_match_py``) generates its rule-level properties from ``CHOICE_FIELDS``, the
native twin's (``_match_c.pyx``) declares the same names by hand (a cdef class cannot be
generated), and tests/test_decision_parity.py holds both, the stub ``_match_c.pyi`` and
``types.Decision`` to this list. ``routecore.Decision`` is ``Decision`` below: an ABC both twins'
classes are registered with (``_match``), so ``isinstance(d, routecore.Decision)`` holds for
either twin's decisions while a decision stays a plain instance of its twin's class (no base
class in the native object layout, no indirection per attribute).

The fast path for middleware (documented in README "Middleware") is two members of both twins:
``request_path`` (the request's path as the table matched it, after normalisation; None on a
decision that carries nothing from the request) and ``changes`` (the rule's changes, shared by
every decision of that rule: ``rewrite`` - the URLRewrite filter or None - and
``request_headers`` / ``response_headers`` - empty when the rule modifies no headers).
"""
from __future__ import annotations

import abc

# read from the rule's prebuilt choice, unchanged
CHOICE_FIELDS = ("matched", "status", "grpc_status", "backend", "route", "kind", "rule",
                 "rule_name", "listener", "mirrors", "timeouts", "retry", "session_persistence",
                 "extensions", "backend_tls", "tls_mode")
# computed from the choice and the request
REQUEST_FIELDS = ("location", "upstream_path", "upstream_host")
FIELDS = ("matched", "status", "grpc_status", "backend", "route", "kind", "rule", "rule_name",
          "listener", "location", "upstream_path", "upstream_host", "mirrors", "timeouts",
          "retry", "session_persistence", "extensions", "backend_tls", "tls_mode")
assert sorted(FIELDS) == sorted(CHOICE_FIELDS + REQUEST_FIELDS)
# public methods, and the middleware's fast path
METHODS = ("apply_request_headers", "apply_response_headers", "to_dict")
FAST_PATH = ("request_path", "changes")


class Decision(abc.ABC):
    """Where one request goes: frozen, built by a view's ``route``, never by users.

    Both twins' Decision classes are registered here; the members are ``FIELDS``, ``METHODS``
    and ``FAST_PATH`` of routecore._decision (typed in routecore.types.Decision)."""

    __slots__ = ()

"""The public shapes of routecore, for type checkers and for readers.

``View`` is what ``router.gateway(...)`` and ``router.service(...)`` return, and ``Decision`` is
what a view's ``route`` returns, whichever twin (native ``routecore._match_c.Table`` or pure
``routecore._match_py.Table``) serves them. Both are ``typing.Protocol`` classes: at run time
``routecore.Decision`` is the default twin's concrete class, and a type checker sees this
protocol, which both twins' classes satisfy.

Invariant: every member declared here exists on both twins' Table and Decision, with the same
parameters (tests/test_typing.py compares them), and follows docs/api.md; every public member of
a twin's Decision is declared here (a view's ``spec`` is internal and left out).

Annotate the views you bind: ``edge: routecore.View = router.gateway("edge", "infra", 80)``.
"""
from __future__ import annotations

from typing import (Any, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple, Union,
                    runtime_checkable)

from ._explain import Explanation
from ._config.models import ExtensionRef, Retry, SessionPersistence, Timeouts, URLRewrite
from ._outcome import Backend, BackendTLS, Mirror

__all__ = ["Backend", "Changes", "Decision", "Explanation", "Headers", "View"]

Text = Union[str, bytes]
#: request headers: a mapping, or (name, value) pairs; str or bytes; names in any case, repeatable
Headers = Union[Mapping[str, Text], Mapping[bytes, Text], Iterable[Tuple[Text, Text]]]


class Changes(Protocol):
    """What a decision's rule changes (``Decision.changes``, the middleware's fast path): shared by
    every decision of that rule, so reading it costs no allocation."""

    @property
    def rewrite(self) -> Optional[URLRewrite]:
        """The rule's URLRewrite filter, or None."""
        ...
    @property
    def request_headers(self) -> Tuple[Any, ...]:
        """Empty when the rule changes no request header."""
        ...
    @property
    def response_headers(self) -> Tuple[Any, ...]:
        """Empty when the rule changes no response header."""
        ...


@runtime_checkable
class Decision(Protocol):
    """Where one request goes (frozen; never None). See the attribute table of docs/api.md."""

    @property
    def matched(self) -> bool: ...
    @property
    def status(self) -> Optional[int]: ...
    @property
    def grpc_status(self) -> Optional[int]: ...
    @property
    def backend(self) -> Optional[Backend]: ...
    @property
    def route(self) -> Optional[str]: ...
    @property
    def kind(self) -> Optional[str]: ...
    @property
    def rule(self) -> Optional[int]: ...
    @property
    def rule_name(self) -> Optional[str]: ...
    @property
    def listener(self) -> Optional[str]: ...
    @property
    def mirrors(self) -> Tuple[Mirror, ...]: ...
    @property
    def timeouts(self) -> Optional[Timeouts]: ...
    @property
    def retry(self) -> Optional[Retry]: ...
    @property
    def session_persistence(self) -> Optional[SessionPersistence]: ...
    @property
    def extensions(self) -> Tuple[ExtensionRef, ...]: ...
    @property
    def backend_tls(self) -> Optional[BackendTLS]: ...
    @property
    def tls_mode(self) -> Optional[str]: ...
    @property
    def location(self) -> Optional[str]: ...
    @property
    def upstream_path(self) -> Optional[str]: ...
    @property
    def upstream_host(self) -> Optional[str]: ...
    def apply_request_headers(self, headers: Optional[Headers]) -> List[Tuple[str, str]]: ...
    def apply_response_headers(self, headers: Optional[Headers]) -> List[Tuple[str, str]]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    # the middleware's fast path (README "Middleware")
    @property
    def request_path(self) -> Optional[str]: ...
    @property
    def changes(self) -> Changes: ...


@runtime_checkable
class View(Protocol):
    """The rule table of one entry point: a Gateway port or a mesh Service port."""

    def route(self, method: str, path: str, headers: Headers = (), *, host: Optional[str] = None,
              scheme: Optional[str] = None, sni: Optional[str] = None) -> Decision: ...
    def route_asgi(self, scope: Mapping[str, Any]) -> Decision: ...
    def route_wsgi(self, environ: Mapping[str, Any]) -> Decision: ...
    def route_many(self, requests: Iterable[Sequence[Any]]) -> List[Decision]:
        """Each request is (method, target[, headers[, host]]); the Decisions in order."""
        ...
    def explain(self, method: str, path: str, headers: Headers = (), *,
                host: Optional[str] = None, scheme: Optional[str] = None,
                sni: Optional[str] = None) -> Explanation: ...

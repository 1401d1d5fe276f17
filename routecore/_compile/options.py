"""RouterOptions: the compile options of a Router, validated once and carried whole.

Invariants:
- an option has one name everywhere (Router keyword, ``router.options``, the compiler,
  ``TableSpec.options``): ``seed``, ``regex_precedence``, ``normalize_path``, ``merge_slashes``,
  ``extensions``, ``native``, ``escaped_slashes``, ``controller_name``; the only derived value is ``regex_first``
  (``regex_precedence == "before-prefix"``), the boolean the compiler and the twins test;
- a RouterOptions is frozen and valid: ``RouterOptions.build`` is the one place that checks the
  values and fills the defaults (a random seed, the default twin), so whoever holds one (a
  reloaded Router, the serving proxy) reuses it without checking or repeating anything.
"""
from __future__ import annotations

import os
import re
from typing import FrozenSet, Iterable, Optional, Tuple

from attrs import field, frozen

from .._paths import ESCAPED_SLASHES

REGEX_PRECEDENCES = ("after-prefix", "before-prefix")
# the controllerName routecore writes in status (router.status(), routecore.kube) and serves
# GatewayClasses of: one name, configurable
DEFAULT_CONTROLLER = "routecore.dev/gateway-controller"
# a domain-prefixed path, as GatewayClass spec.controllerName is validated
_CONTROLLER_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
                              r"/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+")


@frozen
class RouterOptions:
    seed: int
    regex_precedence: str = "after-prefix"
    normalize_path: bool = True
    merge_slashes: bool = False
    # (group, kind) of the ExtensionRef filters the caller implements; any other is
    # unresolvable, and requests it would process get 500 (never silently skipped)
    extensions: FrozenSet[Tuple[str, str]] = frozenset()
    native: bool = False
    # "%2F", "%5C" and "\\" in request paths: "reject" (400), "keep" or "unescape" (_paths)
    escaped_slashes: str = "reject"
    # the controllerName of status entries (GatewayClass spec.controllerName)
    controller_name: str = DEFAULT_CONTROLLER
    # regex_precedence == "before-prefix": RegularExpression paths rank above PathPrefix
    regex_first: bool = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self):
        if self.regex_precedence not in REGEX_PRECEDENCES:
            raise ValueError("regex_precedence must be 'after-prefix' or 'before-prefix', "
                             f"got {self.regex_precedence!r}")
        if self.escaped_slashes not in ESCAPED_SLASHES:
            raise ValueError(f"escaped_slashes must be one of {', '.join(ESCAPED_SLASHES)}, "
                             f"got {self.escaped_slashes!r}")
        if not isinstance(self.controller_name, str) or len(self.controller_name) > 253 \
                or not _CONTROLLER_NAME.fullmatch(self.controller_name):
            raise ValueError("controller_name must be a domain-prefixed path such as "
                             f"{DEFAULT_CONTROLLER!r}, got {self.controller_name!r}")
        object.__setattr__(self, "regex_first", self.regex_precedence == "before-prefix")

    @classmethod
    def build(cls, *, seed: Optional[int] = None, regex_precedence: str = "after-prefix",
              normalize_path: bool = True, native: Optional[bool] = None,
              extensions: Iterable[Tuple[str, str]] = (),
              merge_slashes: bool = False, escaped_slashes: str = "reject",
              controller_name: str = DEFAULT_CONTROLLER,
              default_native: bool = False) -> "RouterOptions":
        """The options from ``Router``'s keyword arguments: a random seed when None, the default
        twin (``default_native``: the Router passes ``routecore._match.NATIVE``) when ``native``
        is None."""
        return cls(seed=seed if seed is not None else int.from_bytes(os.urandom(8), "little"),
                   regex_precedence=regex_precedence, normalize_path=bool(normalize_path),
                   merge_slashes=bool(merge_slashes),
                   extensions=frozenset((g, k) for g, k in extensions),
                   native=default_native if native is None else bool(native),
                   escaped_slashes=escaped_slashes, controller_name=controller_name)

"""A user's script with two type errors that mypy --strict must report (tests/test_typing.py)."""
from __future__ import annotations

from routecore import Router, View

router: Router = Router.from_source("examples/")
edge: View = router.gateway("edge", namespace="infra", port=80)
d = edge.route(200, "/api/items", host="shop.example.com")  # method is a str
if d.backend is not None:
    print(d.backend.nmae)  # Backend has no attribute "nmae"

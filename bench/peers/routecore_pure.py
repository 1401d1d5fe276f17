"""routecore's pure-Python twin (``Router(..., native=False)``): the spec read literally."""
from .routecore_native import CAN, RoutecoreContender  # noqa: F401

NAME = "routecore-pure"
WHAT = "routecore's pure-Python twin (`native=False`)"


def build(wl):
    return RoutecoreContender(wl, False)

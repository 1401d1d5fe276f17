"""One controllerName: router.status() and routecore.kube write the same, configurable name."""
import pytest

import routecore
from routecore import Router
from routecore.kube import DEFAULT_CONTROLLER

from builders import APPS, be, gateway, gw_ref, httproute, listener, rule

OBJECTS = [gateway("edge", listener("web", 80, from_="All")),
           httproute("r", [gw_ref("edge")], [rule(be("s"))])]


def test_status_names_the_kube_controller_by_default():
    assert DEFAULT_CONTROLLER == "routecore.dev/gateway-controller"
    router = Router(routecore.load(OBJECTS))
    [parent] = router.status("HTTPRoute", APPS, "r")["parents"]
    assert parent["controllerName"] == DEFAULT_CONTROLLER == router.controller_name


def test_the_controller_name_is_configurable_and_carried_through_reload_and_update():
    router = Router(routecore.load(OBJECTS), controller_name="example.com/edge")
    router.reload(routecore.load(OBJECTS))
    router.update([httproute("r", [gw_ref("edge")], [rule(be("t"))])])
    [parent] = router.status("HTTPRoute", APPS, "r")["parents"]
    assert parent["controllerName"] == "example.com/edge"


@pytest.mark.parametrize("bad", ["", "no-slash", "Example.com/x", "a.com/with space", "a.com/\n"])
def test_an_invalid_controller_name_is_refused(bad):
    with pytest.raises(ValueError, match="controller_name must be a domain-prefixed path"):
        Router(routecore.load(OBJECTS), controller_name=bad)

"""Table._group reads the path's characters through Req.pdata, set with the path itself: by
_scan for a target it reads as it is, by _hash_path for the path the general path makes (split,
normalised: another str than the target), NULL for a path wider than one byte per character
(probed through _StrMap.get_at). A pdata left from the target instead of the path decided would
probe the maps with the target's bytes: each request here is one the general path rewrites, or
one _scan declines, and must be decided on its normalised path, as the pure twin decides it."""
import pytest

import routecore
from builders import APPS, be, exact, gateway, gw_ref, httproute, listener, outcome, prefix, rule
from routecore import _match

pytestmark = pytest.mark.skipif(not _match.NATIVE, reason="the native extension is not built")


def _views():
    objs = [gateway("gw", listener("web", 80, from_="All"), ns=APPS),
            httproute("r", [gw_ref("gw", APPS)],
                      [rule(be("deep"), matches=[prefix("/a/b")]),
                       rule(be("exact"), matches=[exact("/a/b/c")]),
                       rule(be("long"), matches=[prefix("/" + "l" * 70 + "/m")]),
                       rule(be("root"), matches=[prefix("/")])])]
    cfg = routecore.load(objs)
    return [routecore.Router(cfg, native=native).gateway("gw", APPS, 80) for native in (True, False)]


CASES = [
    ("/a/b/c", "exact"),                  # read as it is (_scan)
    ("/a/./b/c", "exact"),                # dot segment: the general path's "/a/b/c"
    ("/x/../a/b/c?q=1", "exact"),         # dot-dot, with a query
    ("/a/%62/c", "exact"),                # an escape decoded to "b"
    ("/a/b/./d", "deep"),                 # normalised to "/a/b/d": the prefix, not the exact path
    ("/q/../a/b", "deep"),                # normalised to the prefix itself
    ("/a/b/\u0101", "deep"),              # two bytes per character: no pdata, probed by get_at
    ("/a/./b/\u0101", "deep"),            # the same, normalised
    ("/" + "l" * 70 + "/./m/n", "long"),  # 64 or more: rc_scan_path's target, normalised
    ("/" + "l" * 70 + "/m", "long"),
    ("/a/./x", "root"),
]


@pytest.mark.parametrize("target, backend", CASES)
def test_group_probes_the_path_decided(target, backend):
    native, pure = (v.route("GET", target, host="example.com") for v in _views())
    assert outcome(pure) == backend  # (the reference: each case is meant to reach this rule)
    assert outcome(native) == backend
    assert native.to_dict() == pure.to_dict()


def test_bytes_target_goes_through_the_general_reading():
    native, pure = (v.route(b"GET", b"/a/./b/c", host=b"example.com") for v in _views())
    assert outcome(native) == outcome(pure) == "exact"


def test_scan_is_inlined_into_its_callers():
    """_scan's always_inline (given on a prototype under Cython's C name for it, in
    _match_c_scan.pxi) and those of the steps of a short target's pass (rc_scan_short,
    rc_masks64, rc_masks16) took: the built module holds no out-of-line copy of any (the common
    target then costs no call and no saved registers). A renamed function or a changed
    prototype would leave one."""
    import shutil
    import subprocess
    from routecore import _match_c
    if shutil.which("nm") is None:
        pytest.skip("nm is not installed")
    out = subprocess.run(["nm", _match_c.__file__], capture_output=True, text=True).stdout
    assert "rc_scan_path" in out  # (the symbols are there to be read)
    assert "_8_match_c__scan" not in out
    for name in ("rc_scan_short", "rc_masks64", "rc_masks16"):
        assert name not in out

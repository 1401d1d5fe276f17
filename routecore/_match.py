"""The one place that chooses the native core (``_match_c``) or the pure-Python twin (``_match_py``).

ROUTECORE_NO_EXTENSIONS=1 (any non-empty value but "0") forces the pure twin at import, as it
does at build time. NATIVE says which twin ``Router`` uses by default. Both twins' Decision
classes are registered with the one public type, ``routecore._decision.Decision``.
"""
from __future__ import annotations

import os

from ._decision import Decision
from ._match_py import Decision as PyDecision, Table as PyTable

NO_EXTENSIONS = os.environ.get("ROUTECORE_NO_EXTENSIONS", "") not in ("", "0")

NativeTable = None
NativeDecision = None
native_patched = None  # routecore._match_c.patched_table; the pure twin's: PyTable.patched
new_frozen = None  # routecore._match_c.new_frozen (CompileCache.new), or None
if not NO_EXTENSIONS:
    try:
        from ._match_c import (Decision as NativeDecision, Table as NativeTable, new_frozen,
                               patched_table as native_patched)
    except ImportError:  # not built: the pure twin serves (tests fail if it should have been built)
        NativeTable = NativeDecision = native_patched = new_frozen = None

NATIVE = NativeTable is not None
for _cls in (PyDecision, NativeDecision):
    if _cls is not None:
        Decision.register(_cls)

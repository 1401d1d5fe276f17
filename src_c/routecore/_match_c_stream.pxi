# The native twin's route_tls / route_stream (TLS, TCP and UDP listeners of a Gateway port),
# included by _match_c.pyx. The pure reading is routecore/_stream_py.py; this one finds the TLS
# listener and the route group of an SNI through the same host index as HTTP Hosts
# (_host_key_hash, _host_lookup over _StrMaps keyed like the listener maps).
#
# Invariant: the same decisions as routecore._match_py.Table.route_tls / route_stream (the
# differential tests compare them); the choices and the pick are those of Table.route.

from routecore import _stream_py


cdef class _TLSListener:
    pass


cdef int _build_streams(Table self, object spec) except -1:
    """The TLS listeners' host maps (value: listener index / outcome) and route_stream's
    outcomes, from spec.streams."""
    cdef _TLSListener T
    listener_exact, listener_wild = {}, {}
    self.tls_listeners = []
    self.tls_any = -1
    for lis in spec.streams:
        if lis.protocol != "TLS" and lis.protocol != "HTTPS":
            continue
        T = _TLSListener()
        T.no_match = lis.no_match
        T.any_outcome = -1
        exact, wild = {}, {}
        for g in lis.groups:
            if g.hostname is None:
                T.any_outcome = g.outcome
            elif g.hostname.startswith("*."):
                wild.setdefault(g.hostname[1:], g.outcome)
            else:
                exact.setdefault(g.hostname, g.outcome)
        T.exact_hosts = _StrMap([(k, 0, v, 0) for k, v in exact.items()], True)
        T.wild_hosts = _StrMap([(k, 0, v, 0) for k, v in wild.items()], True)
        li = len(self.tls_listeners)
        self.tls_listeners.append(T)
        h = lis.hostname
        if h is None:
            if self.tls_any < 0:
                self.tls_any = li
        elif h.startswith("*."):
            listener_wild.setdefault(h[1:], li)
        else:
            listener_exact.setdefault(h, li)
    self.tls_exact = _StrMap([(k, 0, v, 0) for k, v in listener_exact.items()], True)
    self.tls_wild = _StrMap([(k, 0, v, 0) for k, v in listener_wild.items()], True)
    self.stream_outcomes = {p: _stream_py.stream_outcome(spec, p) for p in (None, "TCP", "UDP")}
    return 0


cdef int _ready(Table self) except -1:
    if not self.ready:
        raise TypeError("this Table is not initialised: tables come from router.gateway() "
                        "or router.service()")
    return 0


cdef int _stream_outcome(Table self, object protocol) except -2:
    _ready(self)
    if protocol is not None and protocol != "TCP" and protocol != "UDP":
        _stream_py.stream_outcome(self.spec, protocol)  # raises the pure twin's error
    return self.stream_outcomes[protocol]


cdef object _stream_decision(Table self, int outcome):
    """The Decision of one outcome: its pick, prebuilt when it needs nothing from a request."""
    cdef CChoice* cc = &self.cchoices[self._pick(&self.outs[outcome])]
    if cc.fixed != NULL:
        return <object>cc.fixed
    return _decision(cc.choice, <PyObject*>None, 0, <PyObject*>None, 0, <PyObject*>None,
                     <PyObject*>None)


cdef int _tls_outcome(Table self, object sni) except -2:
    cdef HostHash hh
    cdef Py_ssize_t n, after = -1
    cdef int li, o
    cdef _TLSListener T
    cdef str key
    _ready(self)
    key = <str>_host_key_hash(None if sni is None else _text(sni), &n, &hh, False)
    li = _host_lookup(<PyObject*>self.tls_exact, <PyObject*>self.tls_wild, &hh, &after)
    if li < 0:
        li = self.tls_any
    if li < 0:
        return self.no_listener
    T = <_TLSListener>self.tls_listeners[li]
    after = -1
    o = _host_lookup(<PyObject*>T.exact_hosts, <PyObject*>T.wild_hosts, &hh, &after)
    if o < 0:
        o = T.any_outcome
    return o if o >= 0 else T.no_match

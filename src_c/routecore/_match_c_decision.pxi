# The native twin's Decision (routecore._match_c.Decision), included by _match_c.pyx. Its public
# members are routecore._decision's lists (FIELDS, METHODS, FAST_PATH), as the pure twin's are;
# tests/test_decision_parity.py holds both to them.

class _Uninitialised:
    """The choice of a Decision made by ``Decision.__new__`` alone: any use of it is a clear
    TypeError, never a crash."""

    def __getattr__(self, name):
        raise TypeError("this Decision is not initialised: Decisions come from view.route()")


_UNINITIALISED = _Uninitialised()
cdef object _UNINIT = _UNINITIALISED  # (a C global: Decision.__cinit__ reads no module dict)


@cython.no_gc
cdef class Decision:
    """Where one request goes. Frozen; built by a rule table, never by users."""

    # The fields are references owned by the Decision (set once by _decision, released by
    # _decision_dealloc), as raw pointers so that making one costs no None stores: NULL is None, but
    # for _choice, where NULL is a Decision made by ``Decision.__new__`` alone (_UNINIT).
    cdef PyObject* _choice_p
    cdef PyObject* _pstr       # a str whose first _plen characters are the request path, or bytes
                               # (route_asgi's raw_path: request_path decodes it), or NULL
    cdef Py_ssize_t _plen
    cdef PyObject* _qstr       # a str whose characters from _qstart on are the query, or bytes
                               # (route_asgi's query_string, _qstart 0: _query decodes it), or NULL
    cdef Py_ssize_t _qstart
    cdef PyObject* _host_p     # the request's Host (valid): a str, or bytes (a raw header value
                               # the decision read in place: _host decodes it), or NULL
    cdef PyObject* _scheme_p

    cdef inline object _choice(self):
        return <object>self._choice_p if self._choice_p != NULL else _UNINIT

    @property
    def _host(self):
        """The request's Host (valid, or None); a bytes Host as its latin-1 text, made here (as
        the pure twin's request reading makes it)."""
        if self._host_p == NULL:
            return None
        if PyBytes_CheckExact(<object>self._host_p):
            return _latin1(PyBytes_AS_STRING(<object>self._host_p),
                           PyBytes_GET_SIZE(<object>self._host_p))
        return <object>self._host_p

    @property
    def _scheme(self):
        return <object>self._scheme_p if self._scheme_p != NULL else None

    @property
    def changes(self):
        """The rule's changes (routecore._decision: the middleware's fast path)."""
        return self._choice()

    @property
    def request_path(self):
        """The request path as matched (None for a decision that carries nothing from the request)."""
        if self._pstr == NULL:
            return None
        if PyBytes_CheckExact(<object>self._pstr):  # (route_asgi's raw_path: its latin-1 text)
            return _latin1(PyBytes_AS_STRING(<object>self._pstr), self._plen)
        if self._plen == PyUnicode_GET_LENGTH(<object>self._pstr):
            return <object>self._pstr
        return (<str>self._pstr)[:self._plen]

    @property
    def _query(self):
        """The request's query (None: none); a bytes query as its latin-1 text, made here (as the
        pure twin's route_asgi makes it)."""
        if self._qstr == NULL:
            return None
        if PyBytes_CheckExact(<object>self._qstr):
            return _latin1(PyBytes_AS_STRING(<object>self._qstr) + self._qstart,
                           PyBytes_GET_SIZE(<object>self._qstr) - self._qstart)
        if self._qstart == 0:
            return <object>self._qstr
        return (<str>self._qstr)[self._qstart:]

    @property
    def matched(self):
        return self._choice().matched

    @property
    def status(self):
        return self._choice().status

    @property
    def grpc_status(self):
        return self._choice().grpc_status

    @property
    def backend(self):
        return self._choice().backend

    @property
    def route(self):
        return self._choice().route

    @property
    def kind(self):
        return self._choice().kind

    @property
    def rule(self):
        return self._choice().rule

    @property
    def rule_name(self):
        return self._choice().rule_name

    @property
    def listener(self):
        return self._choice().listener

    @property
    def mirrors(self):
        return self._choice().mirrors

    @property
    def timeouts(self):
        return self._choice().timeouts

    @property
    def retry(self):
        return self._choice().retry

    @property
    def session_persistence(self):
        return self._choice().session_persistence

    @property
    def extensions(self):
        return self._choice().extensions

    @property
    def backend_tls(self):
        return self._choice().backend_tls

    @property
    def tls_mode(self):
        return self._choice().tls_mode

    @property
    def location(self):
        return _outcome.location(self._choice(), self.request_path, self._query, self._host,
                                 self._scheme)

    @property
    def upstream_path(self):
        return _outcome.upstream_path(self._choice(), self.request_path, self._query)

    @property
    def upstream_host(self):
        return _outcome.upstream_host(self._choice(), self._host)

    def apply_request_headers(self, headers):
        return _outcome.apply_headers(self._choice().request_headers, headers)

    def apply_response_headers(self, headers):
        return _outcome.apply_headers(self._choice().response_headers, headers)

    def to_dict(self):
        return _outcome.decision_dict(self)

    def __eq__(self, other):
        if not hasattr(other, "to_dict") or not hasattr(other, "upstream_path"):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None

    def __repr__(self):
        return _outcome.decision_repr(self)


cdef extern from *:
    """
    /* A Decision taken from the free list: alive again with one reference (as _Py_NewReference
       does, which is not public API; a Py_TRACE_REFS build takes the public PyObject_Init). */
    static inline PyObject *rc_revive(PyObject *o) {
    #ifdef Py_TRACE_REFS
        return PyObject_Init(o, Py_TYPE(o));
    #else
        Py_SET_REFCNT(o, 1);
        return o;
    #endif
    }
    #define rc_steal(o) (o)
    /* the free list needs the GIL: a free-threaded build keeps none */
    #ifdef Py_GIL_DISABLED
    #define RC_DECISION_FREE 0
    #else
    #define RC_DECISION_FREE 64
    #endif
    """
    int _FREE_CAP "RC_DECISION_FREE"
    PyObject* _revive "rc_revive"(PyObject* o) noexcept
    Decision _steal_decision "rc_steal"(PyObject* o)  # takes the reference o holds
    object _take "rc_steal"(PyObject* o)  # the same, as an object
    ctypedef void (*destructor)(PyObject*) noexcept
    ctypedef PyObject* (*allocfunc)(PyTypeObject*, Py_ssize_t) noexcept
    ctypedef void (*freefunc)(void*) noexcept
    ctypedef struct PyTypeObject:
        destructor tp_dealloc
        allocfunc tp_alloc
        freefunc tp_free
        unsigned long tp_flags
    PyTypeObject* Py_TYPE(PyObject* o) nogil
    unsigned long Py_TPFLAGS_HEAPTYPE
    void Py_DECREF_type "Py_DECREF"(PyTypeObject* t)


# Decisions are kept for reuse when dropped (the free list, under the GIL): making one takes
# it back with its fields set at once (_decision), with no zeroing and no None stores
cdef PyObject* _free[64]
cdef int _nfree = 0


cdef void _decision_dealloc(PyObject* o) noexcept:
    """Decision's tp_dealloc: its references released, kept in the free list (a subclass's
    instance is freed)."""
    global _nfree
    cdef PyTypeObject* tp = Py_TYPE(o)
    Py_XDECREF((<Decision>o)._choice_p)
    Py_XDECREF((<Decision>o)._pstr)
    Py_XDECREF((<Decision>o)._qstr)
    Py_XDECREF((<Decision>o)._host_p)
    Py_XDECREF((<Decision>o)._scheme_p)
    if tp == <PyTypeObject*>Decision and _nfree < _FREE_CAP:
        _free[_nfree] = o
        _nfree += 1
        return
    tp.tp_free(o)
    if (<PyTypeObject*>Decision).tp_flags & Py_TPFLAGS_HEAPTYPE:
        Py_DECREF_type(tp)  # an instance of a heap type holds its type (a subclass's
        # subtype_dealloc releases it when the base, Decision, is a static type)


(<PyTypeObject*>Decision).tp_dealloc = _decision_dealloc


cdef inline PyObject* _ref(PyObject* v) noexcept:
    """v, referenced (NULL for None)."""
    if v == <PyObject*>None:
        return NULL
    Py_INCREF(<object>v)
    return v


cdef PyObject* _alloc_decision() except NULL:
    """A Decision's memory when the free list is empty."""
    cdef PyObject* o = (<PyTypeObject*>Decision).tp_alloc(<PyTypeObject*>Decision, 0)
    if o == NULL:
        raise MemoryError()
    return o


cdef inline PyObject* _made(PyObject* choice, PyObject* pstr, Py_ssize_t plen, PyObject* qstr,
                            Py_ssize_t qstart, PyObject* scheme, PyObject* host) except NULL:
    """A new Decision (the arguments are borrowed: the Decision takes its own references), as
    a new reference: _take hands it to Cython as its own (no second reference to drop).
    Inline: _decide_at makes one per request."""
    global _nfree
    cdef PyObject* o
    if _nfree > 0:
        _nfree -= 1
        o = _revive(_free[_nfree])
    else:
        o = _alloc_decision()
    Py_INCREF(<object>choice)
    (<Decision>o)._choice_p = choice
    (<Decision>o)._pstr = _ref(pstr)
    (<Decision>o)._plen = plen
    (<Decision>o)._qstr = _ref(qstr)
    (<Decision>o)._qstart = qstart
    (<Decision>o)._scheme_p = _ref(scheme)
    (<Decision>o)._host_p = _ref(host)
    return o


cdef Decision _decision(PyObject* choice, PyObject* pstr, Py_ssize_t plen, PyObject* qstr,
                        Py_ssize_t qstart, PyObject* scheme, PyObject* host):
    """A new Decision (the references are borrowed: the Decision takes its own)."""
    return _steal_decision(_made(choice, pstr, plen, qstr, qstart, scheme, host))

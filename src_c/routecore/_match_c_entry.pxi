# The native twin's route() entry point (routecore._match_c.Table.route), included by
# _match_c.pyx: a METH_FASTCALL | METH_KEYWORDS method (rc_route) whose arguments are read in C,
# so that the common call ``view.route(method, target, headers, host=host)`` costs a few pointer
# compares instead of Cython's generic keyword parser; any other call goes through _route.
#
# Invariant: the signature is route(method, path, headers=(), *, host=None, scheme=None,
# sni=None), as routecore._match_py.Table.route's (its __text_signature__ says so to inspect);
# any other call raises the TypeError a Python function with that signature would.

cdef extern from *:
    """
    static PyMethodDef rc_route_def;
    static const char rc_route_doc[] =
        "route($self, method, path, headers=(), *, host=None, scheme=None, sni=None)\\n--\\n\\n"
        "The decision for one request.";
    typedef PyObject *(*rc_fastcall)(PyObject *, PyObject **, Py_ssize_t, PyObject *);
    /* Table._decide (a cdef method of a final class: a plain C function whose self is the
       Table's struct pointer, passed here as a PyObject *), wsgi false */
    typedef PyObject *(*rc_decide6)(PyObject *, PyObject *, PyObject *, PyObject *, PyObject *,
                                    PyObject *, PyObject *, int);
    /* _decide_c: (self, method, path, headers, host, more), more NULL here (scheme and sni None,
       wsgi false). Six arguments, all in registers: rc_route's common calls end in a jump to
       it (a sibling call, no frame of rc_route's) */
    typedef PyObject *(*rc_decide4)(PyObject *, PyObject *, PyObject *, PyObject *, PyObject *,
                                    void *);
    static rc_fastcall rc_route_general;  /* any call: full checks, Python's errors */
    static rc_decide6 rc_route_decide;    /* the decision for the six arguments */
    static rc_decide4 rc_route_fast;      /* the decision for the common four */
    static PyObject *rc_route_names[6];   /* method, path, headers, host, scheme, sni (interned) */
    static PyObject *rc_route_empty;      /* () */

    /* 1 when headers is None, a dict or a list or tuple of exact 2-tuples (no twin can fail to
       read it), 0 otherwise (_given_headers reads it then) */
    static inline int rc_all_pairs(PyObject *headers) {
        PyTypeObject *t = Py_TYPE(headers);
        PyObject **items;
        Py_ssize_t n;
        if (t == &PyList_Type)
            items = ((PyListObject *)headers)->ob_item;
        else if (t == &PyTuple_Type)
            items = ((PyTupleObject *)headers)->ob_item;
        else
            return t == &PyDict_Type || headers == Py_None;
        for (n = Py_SIZE(headers); n > 0; n--, items++)
            if (Py_TYPE(*items) != &PyTuple_Type || Py_SIZE(*items) != 2)
                return 0;
        return 1;
    }

    /* route() with keywords other than one host=: names matched by identity (a call site's
       keyword names are interned), else the general reading. A function of its own, so that
       rc_route's common calls save no registers. */
    static __attribute__((noinline)) PyObject *
    rc_route_kw(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
        PyObject *v[6];
        Py_ssize_t k, nk = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
        int j;
        if (nargs < 2 || nargs > 3)
            goto general;
        for (k = 0; k < 6; k++)
            v[k] = k < nargs ? args[k] : NULL;
        for (k = 0; k < nk; k++) {
            PyObject *name = PyTuple_GET_ITEM(kwnames, k);
            for (j = 3; j < 6 && rc_route_names[j] != name; j++)
                ;
            if (j == 6 || v[j] != NULL)
                goto general;
            v[j] = args[nargs + k];
        }
        if (v[3] != NULL && v[3] != Py_None && v[2] != NULL && !rc_all_pairs(v[2]))
            goto general;  /* (_route checks the headers: _given) */
        return rc_route_decide(self, v[0], v[1], v[2] ? v[2] : rc_route_empty,
                               v[3] ? v[3] : Py_None, v[4] ? v[4] : Py_None,
                               v[5] ? v[5] : Py_None, 0);
    general:
        return rc_route_general(self, (PyObject **)args, nargs, kwnames);
    }

    /* route(): route(method, path[, headers]) and route(method, path, headers, host=host) go
       to _decide_c as they are (with a Host given, when rc_all_pairs vouches for the headers:
       else _route checks them, _given); any other call to rc_route_kw */
    static PyObject *rc_route(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames) {
        if (kwnames == NULL) {
            if (nargs == 2)
                return rc_route_fast(self, args[0], args[1], rc_route_empty, Py_None, NULL);
            if (nargs == 3)
                return rc_route_fast(self, args[0], args[1], args[2], Py_None, NULL);
        } else if (nargs == 3 && PyTuple_GET_SIZE(kwnames) == 1
                   && PyTuple_GET_ITEM(kwnames, 0) == rc_route_names[3]
                   && (args[3] == Py_None || rc_all_pairs(args[2])))
            return rc_route_fast(self, args[0], args[1], args[2], args[3], NULL);
        return rc_route_kw(self, args, nargs, kwnames);
    }

    /* Put rc_route in type tp as the method "route" (a method descriptor, METH_FASTCALL |
       METH_KEYWORDS). */
    static int rc_install_route(PyObject *tp, void *general, void *decide, void *fast,
                                PyObject *names, PyObject *empty) {
        PyObject *d;
        int r, k;
        rc_route_general = (rc_fastcall)general;
        rc_route_decide = (rc_decide6)decide;
        rc_route_fast = (rc_decide4)fast;
        for (k = 0; k < 6; k++) {
            rc_route_names[k] = PyTuple_GET_ITEM(names, k);
            Py_INCREF(rc_route_names[k]);
        }
        rc_route_empty = empty;
        Py_INCREF(empty);
        rc_route_def.ml_name = "route";
        rc_route_def.ml_meth = (PyCFunction)(void (*)(void))rc_route;
        rc_route_def.ml_flags = METH_FASTCALL | METH_KEYWORDS;
        rc_route_def.ml_doc = rc_route_doc;
        d = PyDescr_NewMethod((PyTypeObject *)tp, &rc_route_def);
        if (d == NULL)
            return -1;
        r = PyDict_SetItemString(((PyTypeObject *)tp)->tp_dict, "route", d);
        Py_DECREF(d);
        PyType_Modified((PyTypeObject *)tp);
        return r;
    }
    """
    bint _all_pairs "rc_all_pairs"(PyObject* headers) noexcept
    int _install_route "rc_install_route"(PyObject* tp, void* general, void* decide, void* fast,
                                          PyObject* names, PyObject* empty) except -1


# route()'s parameter names, in order; host first among the keywords (the common one)
cdef tuple _ROUTE_ARGS = ("method", "path", "headers", "host", "scheme", "sni")


cdef inline Py_ssize_t _route_arg(PyObject* name) noexcept:
    """The index in _ROUTE_ARGS of keyword ``name``: by identity (names at call sites are interned),
    else by value; -1 when route() has no such parameter."""
    cdef Py_ssize_t j
    if name == PyTuple_GET_ITEM(_ROUTE_ARGS, 3):
        return 3
    for j in range(6):
        if name == PyTuple_GET_ITEM(_ROUTE_ARGS, j):
            return j
    if not PyUnicode_CheckExact(<object>name):
        return -1
    for j in range(6):
        if <object>name == <object>PyTuple_GET_ITEM(_ROUTE_ARGS, j):
            return j
    return -1


cdef object _given_headers(object headers):
    """route(..., host=...)'s headers when rc_all_pairs cannot vouch for them (_given;
    rc_route sends such calls to _route): routecore._match_py reads every item, while this twin
    reads the headers only when a header condition, the gRPC check or CORS needs them. So that
    an argument the pure twin cannot read raises the same error here whatever the rules read,
    each item of a list or tuple that is not a 2-tuple is unpacked (_header_pair: the error,
    if any, is Python's, as in _match_py), and any other form (a one-shot iterable, another mapping)
    is read into a list of its items first (``headers.items()`` when it has them)."""
    cdef object it
    cdef Py_ssize_t j = 0
    if not (type(headers) is list or type(headers) is tuple):
        headers = list(headers.items() if hasattr(headers, "items") else headers)
    while j < _ob_size(<PyObject*>headers):  # (an item's __iter__ may change the list)
        it = <object>PySequence_Fast_ITEMS(headers)[j]
        j += 1
        if not (PyTuple_CheckExact(it) and PyTuple_GET_SIZE(it) == 2):
            _header_pair(it)
    return headers


cdef inline object _given(object headers, object host):
    """route()'s headers as _decide_c may take them: as they are unless a Host is given and
    rc_all_pairs cannot vouch for them (_given_headers checks them then)."""
    if host is None or _all_pairs(<PyObject*>headers):
        return headers
    return _given_headers(headers)


cdef object _route(object self, PyObject** args, Py_ssize_t nargs, PyObject* kwnames):
    """Table.route for any call rc_route does not read itself: the arguments as CPython's
    vectorcall hands them over (positional ones, then the values of the keywords named in
    kwnames)."""
    cdef PyObject* v[6]
    cdef Py_ssize_t k, j, nk
    cdef object host
    if nargs > 3:
        raise TypeError(f"route() takes from 2 to 3 positional arguments but {nargs} were given")
    v[0] = v[1] = v[2] = v[3] = v[4] = v[5] = NULL
    for k in range(nargs):
        v[k] = args[k]
    if kwnames != NULL:
        nk = PyTuple_GET_SIZE(<object>kwnames)
        for k in range(nk):
            j = _route_arg(PyTuple_GET_ITEM(<object>kwnames, k))
            if j < 0:
                raise TypeError(f"route() got an unexpected keyword argument "
                                f"'{<object>PyTuple_GET_ITEM(<object>kwnames, k)}'")
            if v[j] != NULL:
                raise TypeError(f"route() got multiple values for argument '{_ROUTE_ARGS[j]}'")
            v[j] = args[nargs + k]
    if v[0] == NULL or v[1] == NULL:
        raise TypeError(f"route() missing required argument '{'method' if v[0] == NULL else 'path'}'")
    host = <object>v[3] if v[3] != NULL else None
    return (<Table>self)._decide(<object>v[0], <object>v[1],
                                 _given(<object>v[2], host) if v[2] != NULL else (), host,
                                 <object>v[4] if v[4] != NULL else None,
                                 <object>v[5] if v[5] != NULL else None, False)


_install_route(<PyObject*>Table, <void*>_route, <void*>Table._decide, <void*>_decide_c,
               <PyObject*>_ROUTE_ARGS, <PyObject*>())

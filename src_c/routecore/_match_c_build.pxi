# Table construction of the native twin (routecore._match_c), included by _match_c.pyx: the
# TableSpec laid out into the flat C arrays and maps that the per-request path reads. Runs once
# per view (Router build and reload), never per request.
#
# Invariant: a Table is filled once, by _build from Table.__init__ (or by patched_table from
# another table, _match_c_patch.pxi); every array and map is complete before Table.ready is
# set, and nothing here is called afterwards.

from cpython.dict cimport PyDict_GetItem


cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset
        int flags
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member

import struct as _struct
import types as _types

cdef dict _slot_offsets = {}  # (cls, names) -> the slots' offsets (Py_ssize_t each, packed)
cdef object _last_cls = None, _last_names = None, _last_offsets = None  # the last one asked


cdef bytes _offsets(cls, tuple names):
    """Where the objects of ``cls`` keep the attributes ``names``: the offsets of their slots,
    checked to be plain object slots (the member descriptors ``__slots__`` makes, which
    object.__setattr__ would call), each once."""
    global _last_cls, _last_names, _last_offsets
    if cls is _last_cls and names is _last_names:  # (a compile asks for one class at a time)
        return _last_offsets
    key = (cls, names)
    hit = _slot_offsets.get(key)
    if hit is None:
        hit = _slot_offsets[key] = _slot_layout(cls, names)
    _last_cls, _last_names, _last_offsets = cls, names, hit
    return hit


cdef bytes _slot_layout(cls, tuple names):
    offsets = []
    cdef PyMemberDef* m
    for name in names:
        descr = next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), None)
        if type(descr) is not _types.MemberDescriptorType:
            raise TypeError(f"{cls.__name__}.{name} is not a slot")
        m = (<PyMemberDescrObject*><PyObject*>descr).d_member
        if m.type != 16 or m.flags & 1:  # T_OBJECT_EX, not READONLY: what __slots__ makes
            raise TypeError(f"{cls.__name__}.{name} is not a writable object slot")
        offsets.append(m.offset)
    if len(set(offsets)) != len(offsets):
        raise ValueError("a slot is named twice")
    return _struct.pack(f"{len(offsets)}n", *offsets)


def new_frozen(cls, tuple names, tuple values):
    """An instance of the slotted class ``cls`` whose attribute ``names[i]`` is ``values[i]``,
    set in its slot as object.__setattr__ would set it, without calling ``cls.__init__``: for
    the frozen attrs classes a compile makes by the ten thousand
    (routecore._compile.table.CompileCache.new), whose __init__ only sets each field (24
    Python-level calls for a Choice). ``names`` must cover every slot. The slots' offsets are
    read once per (cls, names) from their member descriptors (_offsets): a write is a store."""
    cdef Py_ssize_t i
    cdef const Py_ssize_t* at
    cdef PyObject** slot
    if PyTuple_GET_SIZE(names) != PyTuple_GET_SIZE(values):
        raise ValueError("names and values differ in length")
    offsets = _offsets(cls, names)
    at = <const Py_ssize_t*><const char*>offsets
    obj = cls.__new__(cls)
    if not isinstance(obj, cls):
        raise TypeError(f"{cls.__name__}.__new__ made another type")
    for i in range(PyTuple_GET_SIZE(names)):
        slot = <PyObject**>((<char*><PyObject*>obj) + at[i])
        v = <object>PyTuple_GET_ITEM(values, i)
        Py_INCREF(v)
        Py_XDECREF(slot[0])
        slot[0] = <PyObject*>v
    return obj


# RE2 Sets hold many patterns in one program: give them more room than one user regex
_SET_OPTIONS = re2.Options()
_SET_OPTIONS.max_mem = 64 << 20
_SET_OPTIONS.log_errors = False
MIN_SET = 4  # below this, the literal prefilter and a few fullmatch calls are as cheap


def _regex_set(patterns):
    """(RE2 full-match Set of the group's regex paths, pattern id -> positions), or (None, None)
    when there are few of them or the Set does not compile (then the prefilter is used)."""
    if len(patterns) < MIN_SET:
        return None, None
    try:
        s = re2.Set.FullMatchSet(_SET_OPTIONS)
        ids, members = {}, []
        for k, pattern in enumerate(patterns):
            sid = ids.get(pattern)
            if sid is None:
                sid = ids[pattern] = s.Add(pattern)
                members.append([])
            members[sid].append(k)
        s.Compile()
    except re2.error:
        return None, None
    return s, [tuple(m) for m in members]


cdef object _build(Table self, spec):
    cdef Py_ssize_t i, n_entries = 0, n_conds = 0, n_groups = 0, n_cum = 0, n_out, n_choices, plen
    cdef int ei = 0, ci = 0, gi, pt
    cdef _Pending* pend_e
    cdef _Pending* pend_p
    cdef Py_ssize_t ne = 0, np = 0
    cdef CEntry* ce
    cdef CGroup* cg
    cdef _Group G
    cdef _Listener L
    self.spec = spec
    self.mesh = spec.mesh
    self.normalize = spec.normalize_path
    self.merge = spec.merge_slashes
    self.regex_first = spec.regex_first
    self.state = <uint64_t>(spec.seed & 0xFFFFFFFFFFFFFFFF)
    self.pool = []
    self.regexes = []
    self.pool_index = {}
    self.regex_index = {}

    # choices and outcomes
    # the spec's own tuples (a copy would cost a pointer per choice and twin, ~20 bytes a rule)
    self.choices = spec.choices
    self.grpc_choices = spec.grpc_choices
    if len(self.grpc_choices) != len(self.choices):
        raise ValueError("a TableSpec whose choices and grpc_choices differ in length")
    n_choices = len(self.choices)
    self.cchoices = <CChoice*>PyMem_Malloc(max(n_choices, 1) * sizeof(CChoice))
    n_out = len(spec.outcomes)
    for cum in spec.outcomes.weights:  # (routecore._compile.outcomes.Outcomes: read its lists)
        n_cum += len(cum)
    self.outs = <COut*>PyMem_Malloc(max(n_out, 1) * sizeof(COut))
    self.cum = <uint64_t*>PyMem_Malloc(max(n_cum, 1) * sizeof(uint64_t))
    if self.cchoices == NULL or self.outs == NULL or self.cum == NULL:
        raise MemoryError()
    self.n_cum = n_cum
    self.fixed = []
    _fill_choices(self, spec, 0, 0)
    _slots(self, spec)

    # one C entry per (host group, entry), laid out bucket by bucket
    for lis in spec.listeners:
        n_groups += len(lis.groups)
        for group in lis.groups:
            es = group.entries
            n_entries += len(es)
            for e in es:
                n_conds += _entry_conds(e)
    self.entries = <CEntry*>PyMem_Malloc(max(n_entries, 1) * sizeof(CEntry))
    self.conds = <CCond*>PyMem_Malloc(max(n_conds, 1) * sizeof(CCond))
    self.groups = <CGroup*>PyMem_Malloc(max(n_groups, 1) * sizeof(CGroup))
    if self.entries == NULL or self.conds == NULL or self.groups == NULL:
        raise MemoryError()

    self.listeners = []
    self.group_objs = []
    self.group_index = {}
    self.host_dicts = []
    # (a bucket per recorded item: at most one per entry; see _Pending)
    pend_e = <_Pending*>PyMem_Malloc(max(n_entries, 1) * sizeof(_Pending))
    pend_p = <_Pending*>PyMem_Malloc(max(n_entries, 1) * sizeof(_Pending))
    if pend_e == NULL or pend_p == NULL:
        PyMem_Free(pend_e)
        PyMem_Free(pend_p)
        raise MemoryError()
    try:
        listener_exact, listener_wild = {}, {}
        self.listener_any = -1
        all_lens = set()
        gi = 0
        for li, lis in enumerate(spec.listeners):
            L = _Listener()
            L.name = lis.name
            L.no_match = lis.no_match
            L.any_group = -1
            exact_hosts, wild_hosts = {}, {}
            for group in lis.groups:
                G = _Group()
                cg = &self.groups[gi]
                cg.plen_mask = 0
                cg.elen_mask = 0
                cg.max_plen = -1
                # path -> its entries in precedence order: the entry alone while it is the only one
                # (most paths have one), else a list of them
                exact_b, prefix_b = {}, {}
                regex_list = []
                for e in group.entries:
                    pt = _path_type(e)
                    if pt == 2:
                        regex_list.append(e)
                        continue
                    path = <object>PyTuple_GET_ITEM(e, _E_PATH)
                    b = exact_b if pt == 0 else prefix_b
                    es = b.get(path)
                    if es is None:
                        b[path] = e
                    elif type(es) is list:
                        es.append(e)
                    else:
                        b[path] = [es, e]
                for path, es in exact_b.items():
                    cg.elen_mask |= (<uint64_t>1) << min(len(path), 63)
                    ei, ci = _bucket_run(self, &pend_e[ne], path, gi, es, ei, ci)
                    ne += 1
                for path, es in prefix_b.items():
                    plen = len(path)
                    all_lens.add(plen)
                    if plen > cg.max_plen:
                        cg.max_plen = plen
                    if plen < 64:
                        cg.plen_mask |= (<uint64_t>1) << plen
                    ei, ci = _bucket_run(self, &pend_p[np], path, gi, es, ei, ci)
                    np += 1
                G.plens = bytearray(cg.max_plen + 2)
                for path in prefix_b:
                    G.plens[len(path)] = 1
                ei, ci = _regex_part(self, G, cg, regex_list, ei, ci)
                self.group_objs.append(G)
                h = group.hostname
                self.group_index[(li, h)] = gi
                if h is None:
                    L.any_group = gi
                else:
                    (wild_hosts if h.startswith("*.") else exact_hosts)[h.lstrip("*")] = gi
                gi += 1
            _host_maps(L, exact_hosts, wild_hosts)
            self.host_dicts.append((exact_hosts, wild_hosts))
            self.listeners.append(L)
            h = lis.hostname
            if h is None:
                if self.listener_any < 0:
                    self.listener_any = li
            elif h.startswith("*."):
                listener_wild.setdefault(h[1:], li)
            else:
                listener_exact.setdefault(h, li)
        self.exact = _StrMap(_map_items(pend_e, ne))
        self.prefix = _StrMap(_map_items(pend_p, np))
    finally:
        PyMem_Free(pend_e)
        PyMem_Free(pend_p)
    self.listener_exact = _StrMap([(k, 0, v, 0) for k, v in listener_exact.items()], True)
    self.listener_wild = _StrMap([(k, 0, v, 0) for k, v in listener_wild.items()], True)
    self.hostless = not listener_exact and not listener_wild
    self.no_listener = spec.no_listener
    self.misdirected = spec.misdirected
    self.bad_request = spec.bad_request
    self.escaped = spec.escaped_slashes
    self.max_plen_all = max(all_lens) if all_lens else -1
    self.plens_all = bytearray(self.max_plen_all + 2)
    for n in all_lens:
        self.plens_all[n] = 1
    self.n_entries, self.n_conds, self.n_groups, self.dead = ei, ci, gi, 0


cdef int _intern(Table self, object s) except -1:
    """The index of ``s`` in self.pool (added when new)."""
    cdef PyObject* j = PyDict_GetItem(self.pool_index, s)
    if j != NULL:
        return <int><object>j
    n = len(self.pool)
    self.pool_index[s] = n
    self.pool.append(s)
    return n


cdef int _regex_index(Table self, object rx) except -1:
    """The index of the program ``rx`` in self.regexes (added when new)."""
    key = id(rx)  # (self.regexes keeps rx, and so its id)
    cdef PyObject* j = PyDict_GetItem(self.regex_index, key)
    if j != NULL:
        return <int><object>j
    n = len(self.regexes)
    self.regex_index[key] = n
    self.regexes.append(rx)
    return n


cdef _fill_choices(Table self, spec, Py_ssize_t first_choice, Py_ssize_t first_out):
    """Fill cchoices from ``first_choice`` on and outs (with their cum) from ``first_out`` on:
    the earlier ones are there already (a patched table copied them)."""
    cdef Py_ssize_t i, pos
    cdef CChoice* cc
    for i in range(first_choice, len(self.choices)):
        choice = self.choices[i]
        grpc = self.grpc_choices[i]
        cc = &self.cchoices[i]
        cc.choice = <PyObject*>choice
        cc.grpc = NULL if grpc is None else <PyObject*>grpc
        cc.cors = choice.cors is not None
        if choice.status is None:  # (a backend: neither a redirect nor fixed, no gRPC form)
            cc.needs_host = False
            cc.fixed = NULL
        else:
            cc.needs_host = _outcome.needs_host(choice)
            cc.fixed = _fixed(self, choice)
        cc.grpc_fixed = NULL if grpc is None else _fixed(self, grpc)
        cc.rare = cc.needs_host or cc.grpc != NULL or cc.cors
    pos = self.outs[first_out - 1].cum_off + self.outs[first_out - 1].count if first_out else 0
    # (routecore._compile.outcomes.Outcomes: the firsts read through the array's buffer)
    cdef const long long[:] firsts = spec.outcomes.firsts
    cdef list weights = spec.outcomes.weights
    if firsts.shape[0] != len(weights):
        raise ValueError("an Outcomes store whose firsts and weights differ in length")
    for i in range(first_out, len(weights)):
        cum = <object>PyList_GET_ITEM(weights, i)
        self.outs[i].start = <int>firsts[i]
        self.outs[i].count = len(cum)
        self.outs[i].cum_off = pos
        for w in cum:
            self.cum[pos] = w
            pos += 1


cdef _slots(Table self, spec):
    """The header slots: 0 host, 1 :authority, 2 content-type, then every name the table
    references (in spec.header_names order: an updated spec only appends)."""
    cdef Py_ssize_t i
    names = ["host", ":authority", "content-type"]
    for name in spec.header_names:
        if name not in names:
            names.append(name)
    self.nslots = len(names)
    self.slots_str = {name: k for k, name in enumerate(names)}
    self.slots_bytes = {name.encode("latin-1"): k for k, name in enumerate(names)}
    self.fast_names = all(name.isascii() and name == name.lower() for name in names)
    self.snames_keep = [name.encode("ascii", "replace") for name in names]
    self.snames = <const unsigned char**>PyMem_Malloc(len(names) * sizeof(char*))
    self.slens = <Py_ssize_t*>PyMem_Malloc(len(names) * sizeof(Py_ssize_t))
    if self.snames == NULL or self.slens == NULL:
        raise MemoryError()
    self.name_lens = 0
    for i in range(len(names)):
        self.snames[i] = <const unsigned char*><char*>self.snames_keep[i]
        self.slens[i] = len(names[i])
        self.name_lens |= (<uint64_t>1) << (len(names[i]) if len(names[i]) < 63 else 63)
    _name_keys(self)


# A bucket laid out by _build whose map item is not made yet: the (path, group, first entry,
# count) items of the path maps are made together once every group is laid out (_map_items), so
# that these short-lived tuples and ints share no memory pool with the objects the table keeps
# (interleaved, the kept ones pinned the pools of the freed ones: ~200 bytes per rule of resident
# memory after the build). ``path`` is borrowed from the spec's entry, which outlives the build.
cdef struct _Pending:
    PyObject* path
    int gi
    int ei
    int count


cdef inline tuple _bucket_run(Table self, _Pending* pend, path, int gi, es, int ei, int ci):
    """Lay out the bucket ``path`` of group gi from entries[ei] (conds from ci), its map item
    recorded in ``pend``; ``es``: its one entry, or a list of them. The next (ei, ci)."""
    pend.path = <PyObject*>path
    pend.gi = gi
    pend.ei = ei
    if type(es) is list:
        pend.count = len(<list>es)
        for e in <list>es:
            ci = _fill(self, ei, ci, e)
            ei += 1
    else:
        pend.count = 1
        ci = _fill(self, ei, ci, es)
        ei += 1
    return ei, ci


cdef list _map_items(const _Pending* pend, Py_ssize_t n):
    """The _StrMap items of the ``n`` recorded buckets, in recording order."""
    cdef Py_ssize_t i
    return [(<object>pend[i].path, pend[i].gi, pend[i].ei, pend[i].count) for i in range(n)]


cdef tuple _regex_part(Table self, _Group G, CGroup* cg, list regex_list, int ei, int ci):
    """Lay out a group's regex entries from entries[ei] (conds from ci) with their prefilter
    and RE2 Set in G: the next (ei, ci)."""
    cg.regex_start = ei
    cg.regex_count = len(regex_list)
    for e in regex_list:
        ci = _fill(self, ei, ci, e)
        ei += 1
    # (a substring every path matching the regex contains, or None: the prefilter's word;
    # entries do not keep it, few are regexes)
    literals = [_required_literal(<object>PyTuple_GET_ITEM(e, _E_PATH)) for e in regex_list]
    G.regex_always = bytearray(1 if lit is None else 0 for lit in literals)
    G.automaton = None
    if any(lit is not None for lit in literals):
        A = ahocorasick.Automaton()
        by_lit = {}
        for k, lit in enumerate(literals):
            if lit is not None:
                by_lit.setdefault(lit, []).append(k)
        for lit, ks in by_lit.items():
            A.add_word(lit, tuple(ks))
        A.make_automaton()
        G.automaton = A
    G.regex_set, G.regex_members = _regex_set([e.path for e in regex_list])
    return ei, ci


cdef _host_maps(_Listener L, dict exact_hosts, dict wild_hosts):
    L.exact_hosts = _StrMap([(k, 0, v, 0) for k, v in exact_hosts.items()], True)
    L.wild_hosts = _StrMap([(k, 0, v, 0) for k, v in wild_hosts.items()], True)


cdef PyObject* _fixed(Table self, object choice):
    """The prebuilt Decision for a choice that needs nothing from the request, else NULL."""
    cdef Decision d
    if not _outcome.is_fixed(choice):
        return NULL
    d = _decision(<PyObject*>choice, <PyObject*>None, 0, <PyObject*>None, 0, <PyObject*>None,
                  <PyObject*>None)
    self.fixed.append(d)  # keeps it alive
    return <PyObject*>d

# the items of a routecore._compile.table.Entry that _fill reads (an Entry is a tuple: read by
# position, once _entry_conds has checked its shape)
cdef enum:
    _E_RANK = 0
    _E_PATH = 5
    _E_REGEX = 6
    _E_METHOD = 7
    _E_CONDS = 8      # (headers, queries)
    _E_OUTCOME = 9
    _E_LEN = 10


cdef inline int _path_type(object e):
    """Entry.path_type (0 Exact, 1 PathPrefix, 2 regex) read as it does: rank class 0 is
    Exact's alone, a regex entry alone has a program (_entry_conds checked e's shape)."""
    if <object>PyTuple_GET_ITEM(<object>PyTuple_GET_ITEM(e, _E_RANK), 0) == 0:
        return 0
    return 1 if <object>PyTuple_GET_ITEM(e, _E_REGEX) is None else 2


def _entry_layout(entry_type):
    """Check the positions above against Entry's fields (at import: a moved field is an
    ImportError, never a table read from the wrong items)."""
    for name, at in (("rank", _E_RANK), ("path", _E_PATH), ("regex", _E_REGEX),
                     ("method", _E_METHOD), ("conds", _E_CONDS),
                     ("outcome", _E_OUTCOME)):
        if entry_type._fields.index(name) != at or len(entry_type._fields) != _E_LEN:
            raise ImportError(f"routecore._compile.table.Entry.{name} moved: update _match_c_build.pxi")


def _entries_for_tests(Table t):
    """(plain, method, h_start, h_end, q_start, q_end) of each of t's entries: tests check that
    the flag agrees with the fields it stands for, after a build and after an update."""
    return [(t.entries[i].plain, t.entries[i].method, t.entries[i].h_start, t.entries[i].h_end,
             t.entries[i].q_start, t.entries[i].q_end) for i in range(t.n_entries)]


from routecore._compile.table import Entry as _Entry
from routecore._config.regex import required_literal as _required_literal
_entry_layout(_Entry)


cdef Py_ssize_t _entry_conds(object e) except -1:
    """The conditions of entry ``e`` (headers and query parameters), its shape checked: every
    entry a table lays out passes here first."""
    if not isinstance(e, _Entry) or PyTuple_GET_SIZE(e) != _E_LEN \
            or not PyTuple_CheckExact(<object>PyTuple_GET_ITEM(e, _E_RANK)) \
            or PyTuple_GET_SIZE(<object>PyTuple_GET_ITEM(e, _E_RANK)) == 0:
        raise TypeError(f"a table entry must be a routecore._compile.table.Entry, got {e!r}")
    conds = <object>PyTuple_GET_ITEM(e, _E_CONDS)
    if not PyTuple_CheckExact(conds) or PyTuple_GET_SIZE(conds) != 2 \
            or not PyTuple_CheckExact(<object>PyTuple_GET_ITEM(conds, 0)) \
            or not PyTuple_CheckExact(<object>PyTuple_GET_ITEM(conds, 1)):
        raise TypeError(f"a table entry must be a routecore._compile.table.Entry, got {e!r}")
    return PyTuple_GET_SIZE(<object>PyTuple_GET_ITEM(conds, 0)) \
        + PyTuple_GET_SIZE(<object>PyTuple_GET_ITEM(conds, 1))


cdef int _fill(Table self, int ei, int ci, object e) except -1:
    """Write entry e at entries[ei] and its conditions from conds[ci]: the next ci."""
    cdef CEntry* ce = &self.entries[ei]
    cdef CCond* cc
    method = <object>PyTuple_GET_ITEM(e, _E_METHOD)
    ce.method = _intern(self, method) if method is not None else -1
    rx = <object>PyTuple_GET_ITEM(e, _E_REGEX)
    ce.regex = _regex_index(self, rx) if rx is not None else -1
    ce.out = self.outs[<Py_ssize_t><object>PyTuple_GET_ITEM(e, _E_OUTCOME)]
    ce.h_start = ci
    conds = <tuple>PyTuple_GET_ITEM(e, _E_CONDS)
    for c in <tuple>PyTuple_GET_ITEM(conds, 0):
        cc = &self.conds[ci]
        cc.slot = self.slots_str[c.name]
        cc.value = _intern(self, c.value)
        cc.regex = _regex_index(self, c.regex) if c.regex is not None else -1
        ci += 1
    ce.h_end = ci
    ce.q_start = ci
    for c in <tuple>PyTuple_GET_ITEM(conds, 1):
        cc = &self.conds[ci]
        cc.slot = _intern(self, c.name)
        cc.value = _intern(self, c.value)
        cc.regex = _regex_index(self, c.regex) if c.regex is not None else -1
        ci += 1
    ce.q_end = ci
    ce.plain = ce.method < 0 and ce.h_start == ce.h_end and ce.q_start == ce.q_end
    return ci

# Table construction of the native twin (routecore._match_c), included by _match_c.pyx: the
# TableSpec laid out into the flat C arrays and maps that the per-request path reads. Runs once
# per view (Router build and reload), never per request.
#
# Invariant: a Table is filled once, by _build from Table.__init__ (or by patched_table from
# another table, _match_c_patch.pxi); every array and map is complete before Table.ready is
# set, and nothing here is called afterwards.

from cpython.object cimport PyObject_GenericSetAttr


def new_frozen(cls, tuple names, tuple values):
    """An instance of the slotted class ``cls`` whose attribute ``names[i]`` is ``values[i]``,
    set as object.__setattr__ sets it, without calling ``cls.__init__``: for the frozen attrs
    classes a compile makes by the ten thousand (routecore._compile.table.CompileCache.new),
    whose __init__ only sets each field (24 Python-level calls for a Choice). ``names`` must
    cover every slot."""
    cdef Py_ssize_t i
    if PyTuple_GET_SIZE(names) != PyTuple_GET_SIZE(values):
        raise ValueError("names and values differ in length")
    obj = cls.__new__(cls)
    for i in range(PyTuple_GET_SIZE(names)):
        PyObject_GenericSetAttr(obj, <object>PyTuple_GET_ITEM(names, i),
                                <object>PyTuple_GET_ITEM(values, i))
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
    cdef Py_ssize_t i, n_entries = 0, n_conds = 0, n_groups = 0, n_cum = 0, n_out, n_choices
    cdef int ei = 0, ci = 0, gi
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
    intern, regex = _interners(self)

    # choices and outcomes
    self.choices = list(spec.choices)
    self.grpc_choices = list(spec.grpc_choices)
    n_choices = len(self.choices)
    self.cchoices = <CChoice*>PyMem_Malloc(max(n_choices, 1) * sizeof(CChoice))
    n_out = len(spec.outcomes)
    for start, cum in spec.outcomes:
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
            n_entries += len(group.entries)
            for e in group.entries:
                n_conds += len(e.headers) + len(e.queries)
    self.entries = <CEntry*>PyMem_Malloc(max(n_entries, 1) * sizeof(CEntry))
    self.conds = <CCond*>PyMem_Malloc(max(n_conds, 1) * sizeof(CCond))
    self.groups = <CGroup*>PyMem_Malloc(max(n_groups, 1) * sizeof(CGroup))
    if self.entries == NULL or self.conds == NULL or self.groups == NULL:
        raise MemoryError()

    self.listeners = []
    self.group_objs = []
    self.group_index = {}
    self.host_dicts = []
    exact_items, prefix_items = [], []
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
            buckets = {}   # ("e"|"p", path) -> entries, in precedence order
            regex_list = []
            for e in group.entries:
                if e.path_type == 0:
                    buckets.setdefault(("e", e.path), []).append(e)
                elif e.path_type == 1:
                    buckets.setdefault(("p", e.path), []).append(e)
                else:
                    regex_list.append(e)
            for (kind, path), es in buckets.items():
                (exact_items if kind == "e" else prefix_items).append((path, gi, ei, len(es)))
                if kind == "e":
                    cg.elen_mask |= (<uint64_t>1) << min(len(path), 63)
                if kind == "p":
                    all_lens.add(len(path))
                    if len(path) > cg.max_plen:
                        cg.max_plen = len(path)
                    if len(path) < 64:
                        cg.plen_mask |= (<uint64_t>1) << len(path)
                for e in es:
                    ci = _fill(self, ei, ci, e, intern, regex)
                    ei += 1
            G.plens = bytearray(cg.max_plen + 2)
            for kind, path in buckets:
                if kind == "p":
                    G.plens[len(path)] = 1
            ei, ci = _regex_part(self, G, cg, regex_list, ei, ci, intern, regex)
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
    self.exact = _StrMap(exact_items)
    self.prefix = _StrMap(prefix_items)
    self.listener_exact = _StrMap([(k, 0, v, 0) for k, v in listener_exact.items()], True)
    self.listener_wild = _StrMap([(k, 0, v, 0) for k, v in listener_wild.items()], True)
    self.no_listener = spec.no_listener
    self.misdirected = spec.misdirected
    self.bad_request = spec.bad_request
    self.escaped = spec.escaped_slashes
    self.max_plen_all = max(all_lens) if all_lens else -1
    self.plens_all = bytearray(self.max_plen_all + 2)
    for n in all_lens:
        self.plens_all[n] = 1
    self.n_entries, self.n_conds, self.n_groups, self.dead = ei, ci, gi, 0


cdef tuple _interners(Table self):
    """intern(str) -> index in self.pool, regex(program) -> index in self.regexes (adding it)."""
    pool, pool_index, regexes, regex_index = self.pool, self.pool_index, self.regexes, self.regex_index

    def intern(s):
        j = pool_index.get(s)
        if j is None:
            j = pool_index[s] = len(pool)
            pool.append(s)
        return j

    def regex(rx):
        j = regex_index.get(id(rx))
        if j is None:
            j = regex_index[id(rx)] = len(regexes)
            regexes.append(rx)
        return j
    return intern, regex


cdef _fill_choices(Table self, spec, Py_ssize_t first_choice, Py_ssize_t first_out):
    """Fill cchoices from ``first_choice`` on and outs (with their cum) from ``first_out`` on:
    the earlier ones are there already (a patched table copied them)."""
    cdef Py_ssize_t i, pos
    for i in range(first_choice, len(self.choices)):
        self.cchoices[i].choice = <PyObject*>self.choices[i]
        grpc = self.grpc_choices[i]
        self.cchoices[i].grpc = NULL if grpc is None else <PyObject*>grpc
        self.cchoices[i].cors = self.choices[i].cors is not None
        self.cchoices[i].needs_host = _outcome.needs_host(self.choices[i])
        self.cchoices[i].fixed = _fixed(self, self.choices[i])
        self.cchoices[i].grpc_fixed = NULL if grpc is None else _fixed(self, grpc)
    pos = self.outs[first_out - 1].cum_off + self.outs[first_out - 1].count if first_out else 0
    for i in range(first_out, len(spec.outcomes)):
        start, cum = spec.outcomes[i]
        self.outs[i].start = start
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


cdef tuple _regex_part(Table self, _Group G, CGroup* cg, list regex_list, int ei, int ci,
                       object intern, object regex):
    """Lay out a group's regex entries from entries[ei] (conds from ci) with their prefilter
    and RE2 Set in G: the next (ei, ci)."""
    cg.regex_start = ei
    cg.regex_count = len(regex_list)
    for e in regex_list:
        ci = _fill(self, ei, ci, e, intern, regex)
        ei += 1
    literals = [e.literal for e in regex_list]
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

cdef int _fill(Table self, int ei, int ci, object e, object intern, object regex) except -1:
    """Write entry e at entries[ei] and its conditions from conds[ci]: the next ci."""
    cdef CEntry* ce = &self.entries[ei]
    ce.path_type = e.path_type
    ce.method = intern(e.method) if e.method is not None else -1
    ce.regex = regex(e.regex) if e.regex is not None else -1
    ce.out = self.outs[e.outcome]
    ce.h_start = ci
    for c in e.headers:
        self.conds[ci].slot = self.slots_str[c.name]
        self.conds[ci].value = intern(c.value)
        self.conds[ci].regex = regex(c.regex) if c.regex is not None else -1
        ci += 1
    ce.h_end = ci
    ce.q_start = ci
    for c in e.queries:
        self.conds[ci].slot = intern(c.name)
        self.conds[ci].value = intern(c.value)
        self.conds[ci].regex = regex(c.regex) if c.regex is not None else -1
        ci += 1
    ce.q_end = ci
    return ci

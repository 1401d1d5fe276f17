# Tables made from tables (routecore._match_c.patched_table), included by _match_c.pyx: an update
# of some routes of a Gateway port (routecore._compile.views.GatewayBuild.updated) rebuilds only
# the buckets it touched; the rest of the old table is copied with memcpy, never re-made from
# its entries.
#
# Invariants:
# - the old table is only read: the new one owns copies of its C arrays and maps, shares only
#   objects nothing writes (interned strings, regex programs, prebuilt Decisions, untouched
#   _Group and _Listener objects, the maps of listeners), so requests in flight on the old
#   table are undisturbed and the swap (Router.update) stays one assignment;
# - a new bucket's entries go after the old ones, and the maps point the bucket's key there; the
#   old run of entries stays, unreferenced ("dead"), until a full build (patched_table answers
#   None when dead entries outnumber the live ones past MAX_DEAD);
# - the per-group masks (elen_mask, plen_mask, max_plen, plens) and plens_all only gain bits: they
#   are filters of which lookups to try, and a lookup of a key with no entries (or no slot) finds
#   nothing, as in a table built whole; an emptied group or bucket stays, with no entries, which
#   answers as its absence does (the next group or bucket is tried).

MAX_DEAD = 4096


cdef _StrMap _map_with(_StrMap old, list items, bint reverse):
    """A copy of ``old`` with the (key, tag, value, count) ``items`` put in: a key there (same
    tag) takes the new value and count, the others are added."""
    cdef _StrMap m = _StrMap.__new__(_StrMap, ())
    cdef Py_ssize_t size = _map_size(old.count + len(items)), i, j, n
    cdef uint64_t h
    cdef MapSlot* slots
    cdef MapSlot* slot
    if size < old.mask + 1:
        size = old.mask + 1
    slots = <MapSlot*>PyMem_Malloc(size * sizeof(MapSlot))
    if slots == NULL:
        raise MemoryError()
    PyMem_Free(m.slots)
    m.slots = slots
    m.mask = size - 1
    m.count = old.count
    m.longest = old.longest
    m.lens = old.lens
    m.keys = list(old.keys)  # (the copied slots point into these keys)
    if size == old.mask + 1:
        memcpy(slots, old.slots, size * sizeof(MapSlot))
        m.wide = dict(old.wide)
    else:
        m.wide = {}
        for i in range(size):
            slots[i].len = -1
            slots[i].hash = 0
        for j in range(old.mask + 1):
            if old.slots[j].len >= 0:
                i = old.slots[j].hash & m.mask
                while slots[i].len >= 0:
                    i = (i + 1) & m.mask
                slots[i] = old.slots[j]
                if slots[i].data == NULL:
                    m.wide[i] = old.wide[j]
    for key, tag, value, count in items:
        n = len(key)
        h = _mix(_hash_suffix(key, 0, n) if reverse else _hash_prefix(key, n), tag)
        i = h & m.mask
        while True:
            slot = &slots[i]
            if slot.len < 0:
                break
            if slot.hash == h and slot.len == n and slot.tag == tag:
                if slot.data != NULL:
                    if PyUnicode_KIND(key) == PyUnicode_1BYTE_KIND and _same(key, 0, n, slot.data):
                        break
                elif m.wide[i] == key:
                    break
            i = (i + 1) & m.mask
        if slot.len < 0:
            slot.hash = h
            slot.len = n
            slot.tag = tag
            m.keys.append(key)
            if PyUnicode_KIND(key) == PyUnicode_1BYTE_KIND:
                slot.data = <const unsigned char*>PyUnicode_DATA(key)
            else:
                slot.data = NULL
                m.wide[i] = key
            m.count += 1
            if n > m.longest:
                m.longest = n
            m.lens |= _len_bit(n)
        slot.value = value
        slot.count = count
    m.rlens = _reversed64(m.lens)
    return m


cdef _Group _group_copy(_Group g):
    cdef _Group c = _Group()
    c.plens = bytearray(g.plens)
    c.regex_always = g.regex_always
    c.automaton = g.automaton
    c.regex_set = g.regex_set
    c.regex_members = g.regex_members
    return c


cdef _Listener _listener_copy(_Listener l):
    cdef _Listener c = _Listener()
    c.name = l.name
    c.exact_hosts = l.exact_hosts
    c.wild_hosts = l.wild_hosts
    c.any_group = l.any_group
    c.no_match = l.no_match
    return c


cdef void* _grown(void* old, Py_ssize_t old_n, Py_ssize_t n, size_t size) except NULL:
    """A new array of n items (at least one) holding a copy of the old array's first old_n."""
    cdef void* out = PyMem_Malloc(max(n, 1) * size)
    if out == NULL:
        raise MemoryError()
    if old_n:
        memcpy(out, old, old_n * size)
    return out


def patched_table(Table old, spec, changes):
    """The table of ``spec`` made from ``old``, the table of the build ``spec``'s build was
    updated from (routecore._compile.views.GatewayBuild.updated); ``changes``: that build's
    ``patch``, [(listener index, host, {(path type, path or None): entries})]. None when a full
    build is due (the spec does not extend old's choices and outcomes, or too many entries are
    dead). The spec extends old's when old's last choice is the same object in both (every
    outcome adds a choice, and a Builder makes its own Choices: only a Builder carried from
    old's shares them) and old's last outcome is equal (Outcomes pairs are made when read)."""
    cdef Table t
    cdef Py_ssize_t n_old_choices = len(old.choices), n_old_outs = len(old.spec.outcomes)
    cdef Py_ssize_t n_cum, add_e = 0, add_c = 0, new_groups = 0, plen
    cdef int ei, ci, gi, g
    cdef CGroup* cg
    cdef _Group G
    cdef _Listener L
    cdef MapSlot* slot
    if not old.ready or old.spec.streams or spec.streams \
            or len(spec.listeners) != len(old.spec.listeners) \
            or len(spec.choices) < n_old_choices or len(spec.outcomes) < n_old_outs \
            or (n_old_choices and spec.choices[n_old_choices - 1] is not old.choices[n_old_choices - 1]) \
            or (n_old_outs and spec.outcomes[n_old_outs - 1] != old.spec.outcomes[n_old_outs - 1]):
        return None
    for li, host, buckets in changes:
        if (li, host) not in old.group_index:
            new_groups += 1
        for es in buckets.values():
            add_e += len(es)
            for e in es:
                add_c += _entry_conds(e)
    t = Table.__new__(Table)
    t.spec = spec
    t.mesh = spec.mesh
    t.normalize = spec.normalize_path
    t.merge = spec.merge_slashes
    t.regex_first = spec.regex_first
    t.state = <uint64_t>(spec.seed & 0xFFFFFFFFFFFFFFFF)
    t.pool = list(old.pool)
    t.pool_index = dict(old.pool_index)
    t.regexes = list(old.regexes)
    t.regex_index = dict(old.regex_index)

    # choices and outcomes: old's, then the spec's new ones
    t.choices = spec.choices  # (as _build: the spec's tuples)
    t.grpc_choices = spec.grpc_choices
    if len(t.grpc_choices) != len(t.choices):
        raise ValueError("a TableSpec whose choices and grpc_choices differ in length")
    t.fixed = list(old.fixed)
    n_cum = old.n_cum
    for i in range(n_old_outs, len(spec.outcomes)):
        n_cum += len(spec.outcomes.weights[i])
    t.cchoices = <CChoice*>_grown(old.cchoices, n_old_choices, len(t.choices), sizeof(CChoice))
    t.outs = <COut*>_grown(old.outs, n_old_outs, len(spec.outcomes), sizeof(COut))
    t.cum = <uint64_t*>_grown(old.cum, old.n_cum, n_cum, sizeof(uint64_t))
    t.n_cum = n_cum
    _fill_choices(t, spec, n_old_choices, n_old_outs)
    _slots(t, spec)

    # entries: old's, then the touched buckets' runs
    t.entries = <CEntry*>_grown(old.entries, old.n_entries, old.n_entries + add_e, sizeof(CEntry))
    t.conds = <CCond*>_grown(old.conds, old.n_conds, old.n_conds + add_c, sizeof(CCond))
    t.groups = <CGroup*>_grown(old.groups, old.n_groups, old.n_groups + new_groups, sizeof(CGroup))
    t.group_objs = list(old.group_objs)
    t.group_index = dict(old.group_index)
    t.listeners = list(old.listeners)
    t.host_dicts = list(old.host_dicts)
    plens_all = bytearray(old.plens_all)
    t.max_plen_all = old.max_plen_all
    ei, ci, gi = old.n_entries, old.n_conds, old.n_groups
    t.dead = old.dead
    exact_items, prefix_items = [], []
    for li, host, buckets in changes:
        g = t.group_index.get((li, host), -1)
        if g < 0:  # a host new to the listener: a new group
            g = gi
            gi += 1
            t.group_index[(li, host)] = g
            cg = &t.groups[g]
            cg.plen_mask = 0
            cg.elen_mask = 0
            cg.max_plen = -1
            cg.regex_start = ei
            cg.regex_count = 0
            G = _Group()
            G.plens = bytearray(1)
            G.regex_always = bytearray()
            G.automaton = G.regex_set = G.regex_members = None
            t.group_objs.append(G)
            L = _listener_copy(<_Listener>t.listeners[li])
            if host is None:
                L.any_group = g
            else:
                exact_hosts, wild_hosts = (dict(d) for d in t.host_dicts[li])
                (wild_hosts if host.startswith("*.") else exact_hosts)[host.lstrip("*")] = g
                t.host_dicts[li] = (exact_hosts, wild_hosts)
                _host_maps(L, exact_hosts, wild_hosts)
            t.listeners[li] = L
        else:
            G = _group_copy(<_Group>t.group_objs[g])
            t.group_objs[g] = G
        cg = &t.groups[g]
        for (ptype, path), es in buckets.items():
            if ptype == 2:  # the group's regex entries, whole
                t.dead += cg.regex_count
                ei, ci = _regex_part(t, G, cg, list(es), ei, ci)
                continue
            plen = len(path)
            slot = (old.exact if ptype == 0 else old.prefix).get_at(path, 0, plen, _hash_prefix(path, plen), g)
            if slot != NULL:
                t.dead += slot.count
            (exact_items if ptype == 0 else prefix_items).append((path, g, ei, len(es)))
            if es and ptype == 0:
                cg.elen_mask |= (<uint64_t>1) << min(plen, 63)
            elif es:
                if plen > cg.max_plen:
                    cg.max_plen = plen
                if plen < 64:
                    cg.plen_mask |= (<uint64_t>1) << plen
                if plen + 2 > len(G.plens):
                    G.plens.extend(bytes(plen + 2 - len(G.plens)))
                G.plens[plen] = 1
                if plen + 2 > len(plens_all):
                    plens_all.extend(bytes(plen + 2 - len(plens_all)))
                    t.max_plen_all = plen
                plens_all[plen] = 1
            for e in es:
                ci = _fill(t, ei, ci, e)
                ei += 1
    t.exact = _map_with(old.exact, exact_items, False) if exact_items else old.exact
    t.prefix = _map_with(old.prefix, prefix_items, False) if prefix_items else old.prefix
    t.plens_all = plens_all
    t.listener_exact = old.listener_exact
    t.listener_wild = old.listener_wild
    t.listener_any = old.listener_any
    t.hostless = old.hostless
    t.no_listener = spec.no_listener
    t.misdirected = spec.misdirected
    t.bad_request = spec.bad_request
    t.escaped = spec.escaped_slashes
    t.n_entries, t.n_conds, t.n_groups = ei, ci, gi
    if t.dead > MAX_DEAD and 2 * t.dead > t.n_entries:
        return None  # (rare: the work is dropped; a full build makes every entry live again)
    _build_streams(t, spec)
    t.ready = True
    return t

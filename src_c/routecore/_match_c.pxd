# Declarations of the native rule table (routecore._match_c); the pure twin is routecore/_match_py.py.
# Layout rule: what one request reads sits in flat C arrays, one cache line per step where possible
# (host slot, group, path slot, entry, choice), never behind chains of Python objects.
cimport cython
from cpython.object cimport PyObject
from libc.stdint cimport uint32_t, uint64_t

cdef struct COut:
    # one outcome: its choices are Table.choices[start:start + count], with cumulative weights
    # Table.cum[cum_off:cum_off + count] when count > 1
    int start
    int count
    int cum_off

cdef struct CEntry:
    int plain          # 1: no method, header or query condition (method -1, h_start == h_end,
                       # q_start == q_end), set by _fill with them: the entry matches as its path does
    int method         # index into Table.pool, or -1 for any method
    int h_start        # header conditions: Table.conds[h_start:h_end]
    int h_end
    int q_start        # query conditions: Table.conds[q_start:q_end]
    int q_end
    int regex          # index into Table.regexes for a regex path, else -1
    COut out           # the outcome, copied here so a hit reads no other array to pick

cdef struct CCond:
    int slot           # header: request header slot; query: index into Table.pool of the name
    int value          # index into Table.pool of the exact value
    int regex          # index into Table.regexes, or -1 for an exact value

cdef struct CGroup:
    # the entries of one route hostname (or of none) of one listener
    uint64_t plen_mask # bit n: some PathPrefix of the group has normalised length n (n < 64)
    uint64_t elen_mask # bit n: some Exact path of the group has length n (bit 63: 63 or more)
    int max_plen       # the longest such length, -1 when none
    int regex_start    # regex entries: Table.entries[regex_start:regex_start + regex_count]
    int regex_count

cdef struct CChoice:
    PyObject* choice   # borrowed from Table.choices
    PyObject* grpc     # borrowed from Table.grpc_choices (the gRPC form), or NULL
    int cors           # the rule has a CORS filter
    int needs_host     # a redirect whose Location takes the request's host (_outcome.needs_host)
    int rare           # needs_host, grpc or cors: _decide_at tests this one field (_fill_choices)
    PyObject* fixed    # the prebuilt Decision of a choice that needs nothing from the request
    PyObject* grpc_fixed  # the same for the gRPC form, or NULL

cdef struct MapSlot:
    uint64_t hash      # the key's hash mixed with tag
    int len            # -1: empty slot
    int tag            # path maps: the group the key belongs to; host maps: 0
    int value          # host maps: the value; path maps: first entry of the bucket
    int count          # path maps: entries in the bucket
    const unsigned char* data  # the key's characters when one byte each, else NULL

@cython.final
cdef class _StrMap:
    # open addressing over MapSlots, keyed by (hash, tag, length), verified by comparison
    cdef MapSlot* slots
    cdef list keys             # keep the keys alive (slots point into them)
    cdef dict wide             # slot index -> key, for keys wider than one byte per character
    cdef Py_ssize_t mask
    cdef Py_ssize_t count
    cdef Py_ssize_t longest    # the longest key's length (no longer substring can be a key)
    cdef uint64_t lens         # bit L: some key has length L (bit 63: 63 or more)
    cdef uint64_t rlens        # lens reversed (bit 63 - L: bit L of lens): _host_lookup's suffix test
    cdef MapSlot* get_at(self, str s, Py_ssize_t start, Py_ssize_t end, uint64_t h, int tag) noexcept

cdef struct HostHash:
    # a host key s[:end] (_match_c_host.pxi): where its "." are, and the hashes of the key and
    # of the "." suffixes a wildcard map can have, once asked for
    PyObject* key              # s, borrowed: the caller keeps it alive
    const unsigned char* data  # its characters when one byte each, else NULL
    Py_ssize_t avail           # len(s)
    Py_ssize_t end
    bint hashed                # full is made
    uint64_t full
    uint32_t dots[8]           # bit j of dots[k]: a "." at 32 * k + j > 0 (keys up to 256 long)
    Py_ssize_t nblk            # the blocks of dots in use
    bint long_key              # longer than 256: no dots (the suffixes are found one by one)
    PyObject* dmap             # the wildcard map dpos / dhash were made for, or NULL
    Py_ssize_t nd
    Py_ssize_t dpos[32]        # the "." suffixes dmap can have, positions decreasing
    uint64_t dhash[32]
    bint dover                 # more than 32 of them: hashed one by one
    bint empty_label           # ".a.example.com", "a..example.com": matches no wildcard

cdef class _Group:
    # what only regex paths and very long prefixes need; CGroup holds the rest
    cdef bytearray plens       # plens[n] == 1 when some prefix has length n
    cdef bytearray regex_always   # per regex entry: 1 when it has no literal for the prefilter
    cdef object automaton         # pyahocorasick automaton over the literals, or None
    cdef object regex_set         # RE2 full-match Set of the regex paths (4 or more), or None
    cdef list regex_members       # Set pattern id -> positions in the regex bucket

cdef class _Listener:
    cdef object name
    cdef _StrMap exact_hosts   # host -> group index (Table.groups)
    cdef _StrMap wild_hosts    # ".suffix" (of "*.suffix") -> group index
    cdef int any_group         # the group of routes without hostnames, or -1
    cdef int no_match          # outcome index

cdef class _TLSListener:
    cdef _StrMap exact_hosts   # SNI host -> outcome index
    cdef _StrMap wild_hosts    # ".suffix" (of "*.suffix") -> outcome index
    cdef int any_outcome       # the outcome of routes without hostname, or -1
    cdef int no_match          # outcome index

cdef struct Req:
    # what one request brought, on the C stack of _decide_c: the decision's functions take
    # this one pointer, not the request's parts as arguments. References are borrowed (the
    # caller's, or a local of _decide_at that outlives every use) but for those in hv and
    # host2, which _release drops (hv is NULL until a candidate needs the headers)
    PyObject* method           # a str
    PyObject* path             # a str whose first plen characters are the path (plen -1: refused);
                               # or (route_asgi, _scan_apart) raw_path's exact bytes, whose latin-1
                               # text is the path (read by _regexes and Decision.request_path)
    Py_ssize_t plen
    const unsigned char* pdata # _compact_narrow(path) (bytes: their data), set with path's
                               # boundaries (_scan, _scan_apart, _hash_path)
    uint64_t full_hash         # the hash of path[:plen]; 0: not made yet (_match_c_scan.pxi)
    PyObject* host             # a str, bytes (a raw header value, read in place) or None
    PyObject* headers
    PyObject* scheme
    PyObject* sni
    bint wsgi                  # headers is a WSGI environ (Table.route_wsgi)
    PyObject* query            # a str whose characters from qstart on are the query, or None;
                               # or (route_asgi, qstart 0) the scope's query_string, an exact
                               # bytes read as latin-1 where it lies (_query_get, Decision._query)
    Py_ssize_t qstart
    PyObject** hv              # referenced header values by slot: hv_stack, or heap past 16 names
    PyObject* host2[2]         # the Host and :authority read alone when hv is NULL (_read_host)
    PyObject* hv_stack[16]
    # the path's prefixes at "/" boundaries (and the path itself): bmask bit L, L < 64, the
    # prefix of length L (hashed when a group has that length); longer ones that some rule's
    # length has: (length, hash), hashed by the pass over the target
    uint64_t bmask
    Py_ssize_t nb
    bint overflow              # more than 64 such boundaries: the rest are hashed on demand
    Py_ssize_t blen[64]
    uint64_t bhash[64]

cdef struct ReqMore:
    # what route() rarely has, for _decide_c (NULL: scheme and sni None, wsgi False)
    PyObject* scheme
    PyObject* sni
    bint wsgi
    PyObject* query  # route_asgi's query (a non-empty exact bytes, or None) decided apart from
                     # the path (NULL: not)

@cython.final
cdef class Table:
    cdef readonly object spec
    cdef CEntry* entries       # in bucket order: each bucket is a run of entries, by precedence
    cdef CCond* conds
    cdef CGroup* groups
    cdef list group_objs       # _Group per CGroup
    cdef _StrMap exact         # (group, path) -> bucket of Exact entries
    cdef _StrMap prefix        # (group, normalised prefix) -> bucket of PathPrefix entries
    cdef bytearray plens_all   # union of the groups' prefix lengths
    cdef Py_ssize_t max_plen_all
    cdef list pool
    cdef list regexes
    cdef list listeners
    cdef _StrMap listener_exact   # listener hostname -> listener index
    cdef _StrMap listener_wild    # ".suffix" -> listener index
    cdef int listener_any
    cdef bint hostless         # no listener has a hostname (both maps empty): every Host is listener_any's
    cdef int no_listener
    cdef int misdirected
    cdef int bad_request       # a refused path or an invalid Host: 400
    cdef object escaped        # the Router's escaped_slashes
    cdef bint ready            # __init__ has completed: every method may run
    cdef dict slots_str
    cdef dict slots_bytes
    cdef int nslots
    # the slot names as C strings, when all are lower-case ASCII (fast_names): header names are
    # compared byte by byte, case-folded, after a length filter (name_lens bit L: a slot name
    # has length L, bit 63: 63 or more)
    cdef bint fast_names
    cdef uint64_t name_lens
    cdef const unsigned char** snames
    cdef Py_ssize_t* slens
    cdef list snames_keep
    cdef void* names           # rc_names (_match_c_headers.pxi) of the slot names when fast_names, else NULL
    cdef bint mesh
    cdef bint normalize
    cdef bint merge
    cdef bint regex_first
    cdef COut* outs
    cdef uint64_t* cum
    cdef uint64_t state
    cdef CChoice* cchoices
    cdef tuple choices         # spec.choices (kept alive by it; CChoice.choice borrows them)
    cdef tuple grpc_choices    # spec.grpc_choices
    cdef list fixed            # the prebuilt Decisions that CChoice.fixed points to
    cdef list tls_listeners    # _TLSListener per TLS listener of spec.streams (_match_c_stream.pxi)
    cdef _StrMap tls_exact     # TLS listener hostname -> index in tls_listeners
    cdef _StrMap tls_wild
    cdef int tls_any
    cdef dict stream_outcomes  # route_stream's protocol (None, "TCP", "UDP") -> outcome
    # what patched_table (_match_c_patch.pxi) needs to make a table from this one: array sizes,
    # the interning maps, (listener index, hostname) -> group, per listener its host -> group
    # dicts (exact, wildcard), and the entries no bucket points to any more
    cdef int n_entries
    cdef int n_conds
    cdef int n_groups
    cdef int n_cum
    cdef int dead
    cdef dict pool_index
    cdef dict regex_index
    cdef dict group_index
    cdef list host_dicts

    cdef object _decide(self, object method, object path, object headers, object host,
                        object scheme, object sni, bint wsgi)
    cdef int _cond(self, CCond* c, object v) except -2
    cdef int _check(self, CEntry* e, Req* req) except -2
    cdef int _bucket(self, int start, int count, Req* req) except -2
    cdef int _regexes(self, int gi, Req* req) except -2
    cdef int _group(self, int gi, Req* req) except -2
    cdef int _listener_for(self, str s, Py_ssize_t end, HostHash* hh) noexcept
    cdef int _pick(self, const COut* o) noexcept

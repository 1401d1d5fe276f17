# Declarations of the native rule table (routecore._cmatch); the pure twin is routecore/_match_py.py.
from cpython.object cimport PyObject
from libc.stdint cimport uint64_t

cdef struct CEntry:
    int path_type      # 0 Exact, 1 PathPrefix, 2 RegularExpression
    int method         # index into Table.pool, or -1 for any method
    int h_start        # header conditions: Table.conds[h_start:h_end]
    int h_end
    int q_start        # query conditions: Table.conds[q_start:q_end]
    int q_end
    int regex          # index into Table.regexes for a regex path, else -1
    int outcome        # index into the outcome arrays

cdef struct CCond:
    int slot           # header: request header slot; query: index into Table.pool of the name
    int value          # index into Table.pool of the exact value
    int regex          # index into Table.regexes, or -1 for an exact value

cdef class _StrMap:
    # open addressing, keyed by (FNV-1a hash of the code points, length), verified by comparison
    cdef uint64_t* hashes
    cdef Py_ssize_t* lens
    cdef int* values           # -1: empty slot
    cdef list keys
    cdef Py_ssize_t mask
    cdef Py_ssize_t count
    cdef int get(self, str s, Py_ssize_t n, uint64_t h)
    cdef int get_at(self, str s, Py_ssize_t start, Py_ssize_t end, uint64_t h)

cdef struct HostHash:
    # a host key's hash, and those of its "." suffixes (positions decreasing)
    uint64_t full
    Py_ssize_t nd
    Py_ssize_t dpos[32]
    uint64_t dhash[32]
    bint overflow
    bint empty_label           # ".a.example.com", "a..example.com": matches no wildcard

cdef class _Group:
    cdef _StrMap exact         # path -> bucket id (Table.bucket_start/count)
    cdef _StrMap prefix        # normalised prefix -> bucket id
    cdef bytearray plens       # plens[n] == 1 when some prefix has length n
    cdef Py_ssize_t max_plen
    cdef int regex_start          # regex entries: Table.cand[regex_start:regex_start + regex_count]
    cdef int regex_count
    cdef bytearray regex_always   # per regex entry: 1 when it has no literal for the prefilter
    cdef object automaton         # pyahocorasick automaton over the literals, or None
    cdef object regex_set         # RE2 full-match Set of the regex paths (4 or more), or None
    cdef list regex_members       # Set pattern id -> positions in the regex bucket

cdef class _Listener:
    cdef object name
    cdef list groups           # the _Groups of the route hostnames of this listener
    cdef _StrMap exact_hosts   # host -> index in groups
    cdef _StrMap wild_hosts    # ".suffix" (of "*.suffix") -> index in groups
    cdef _Group any_group
    cdef int no_match

cdef struct Req:
    # what one request brought, on the C stack of Table.route; references are borrowed but for
    # hvals, which route owns (NULL until a candidate needs the headers)
    PyObject* headers
    PyObject* query
    PyObject* hvals
    # the path's prefixes at "/" boundaries that some rule's length has: (length, hash)
    Py_ssize_t nb
    Py_ssize_t blen[64]
    uint64_t bhash[64]
    bint overflow              # more than 64 such boundaries: the rest are hashed on demand
    uint64_t full_hash

cdef class Table:
    cdef readonly object spec
    cdef CEntry* entries
    cdef CCond* conds
    cdef int* cand
    cdef int* bucket_start
    cdef int* bucket_count
    cdef bytearray plens_all   # union of the groups' prefix lengths
    cdef Py_ssize_t max_plen_all
    cdef list pool
    cdef list regexes
    cdef list listeners
    cdef _StrMap listener_exact   # listener hostname -> listener index
    cdef _StrMap listener_wild    # ".suffix" -> listener index
    cdef int listener_any
    cdef int no_listener
    cdef int misdirected
    cdef dict slots_str
    cdef dict slots_bytes
    cdef int nslots
    cdef bint mesh
    cdef bint normalize
    cdef bint merge
    cdef bint regex_first
    cdef int* out_start
    cdef int* out_count
    cdef int* out_cum_off
    cdef uint64_t* cum
    cdef uint64_t state
    cdef list choices
    cdef list grpc_choices
    cdef bytearray cors        # per choice: 1 when its rule has a CORS filter

    cdef list _collect(self, object headers)
    cdef int _cond(self, CCond* c, object v) except -2
    cdef int _check(self, CEntry* e, str method, Req* req) except -2
    cdef int _bucket(self, int b, str method, Req* req) except -2
    cdef int _regexes(self, _Group g, str path, str method, Req* req) except -2
    cdef int _group(self, _Group g, str path, str method, Req* req) except -2
    cdef void _hash_path(self, str path, Req* req)
    cdef bint _scan(self, str target, Py_ssize_t* qpos, Req* req)
    cdef list _hvals(self, Req* req)
    cdef int _listener_for(self, str s, Py_ssize_t end, HostHash* hh)
    cdef int _pick(self, int outcome)

# Declarations of the native rule table (routecore._cmatch); the pure twin is routecore/_match_py.py.
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

cdef class _Group:
    cdef dict exact            # path -> bucket id (Table.bucket_start/count)
    cdef dict prefix           # normalised prefix -> packed bucket
    cdef bytearray plens       # plens[n] == 1 when some prefix has length n
    cdef Py_ssize_t max_plen
    cdef int regex_start          # regex entries: Table.cand[regex_start:regex_start + regex_count]
    cdef int regex_count
    cdef bytearray regex_always   # per regex entry: 1 when it has no literal for the prefilter
    cdef object automaton         # pyahocorasick automaton over the literals, or None

cdef class _Listener:
    cdef object name
    cdef dict exact_hosts      # host -> _Group
    cdef dict wild_hosts       # ".suffix" -> _Group
    cdef _Group any_group
    cdef int no_match

cdef class _Req:
    cdef object headers
    cdef object query
    cdef list hvals
    cdef dict qmap

cdef class Table:
    cdef readonly object spec
    cdef CEntry* entries
    cdef CCond* conds
    cdef int* cand
    cdef int* bucket_start
    cdef int* bucket_count
    cdef list pool
    cdef list regexes
    cdef list listeners
    cdef dict listener_exact
    cdef dict listener_wild
    cdef int listener_any
    cdef int no_listener
    cdef dict slots_str
    cdef dict slots_bytes
    cdef int nslots
    cdef bint mesh
    cdef bint normalize
    cdef bint regex_first
    cdef int* out_start
    cdef int* out_count
    cdef int* out_cum_off
    cdef uint64_t* cum
    cdef uint64_t state
    cdef list choices
    cdef list grpc_choices

    cdef list _collect(self, object headers)
    cdef int _cond(self, CCond* c, object v) except -2
    cdef int _check(self, CEntry* e, str method, _Req req) except -2
    cdef int _bucket(self, object packed, str method, _Req req) except -2
    cdef int _regexes(self, _Group g, str path, str method, _Req req) except -2
    cdef int _group(self, _Group g, str path, str method, _Req req) except -2
    cdef int _listener_for(self, str hk)
    cdef int _pick(self, int outcome)

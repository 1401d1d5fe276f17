# The native twin's Host handling (routecore._match_c), included by _match_c.pyx: a request's
# Host checked and reduced to its key (routecore._paths.checked_host_key / host_key), and the key
# looked up in the host maps (exact name, then "*.suffix" wildcards longest first).
#
# Invariants:
# - checking a Host never hashes it and visits no "." one by one: HostHash records where the key
#   ends and its "." as bit masks (32 bytes at a time, rc_host_scan); the key's hash is made on
#   the first exact probe (_host_full), the "." suffix hashes on the first probe of a wildcard
#   map (_host_dots), only for the suffixes that map can hold (no longer than its longest key,
#   of a length some key has). So a mesh view (the Host plays no part in matching) and an empty
#   map pay for no hash, and a Host's cost past the longest wildcard key is its check alone.
# - the hashes are those of _match_c_hash.pxi's _hash_suffix, which the maps were built with.
# - a Host of up to 32 characters (a compact ASCII str, or an exact bytes: a raw header value,
#   whose bytes are its latin-1 text) is checked by rc_host_scan32 in two 16-byte loads, no loop
#   over the name (a port's digits are checked one by one); it may read up to 15 bytes before
#   the characters, which are the object's own header (never outside the object), and masks
#   those bits out. Anything it does not accept goes to rc_host_scan or the general reading
#   (bytes decoded as latin-1 first), so it may only decline, never decide otherwise than
#   routecore._paths.checked_host_key. A bytes Host it accepts stays bytes: it is the key
#   _host_key_short returns and what the Decision keeps (Decision._host decodes it when asked).
# - the common exact hit makes no call: _host_lookup is always inlined into its callers and
#   probes the exact map in place (_probe); the wildcards are _host_wild's, called only when
#   some "." suffix of the key has a length a key of the wildcard map has (a key of up to 32
#   characters: its "." mask against the map's reversed lengths, _StrMap.rlens; longer keys
#   always call).

cdef extern from *:
    """
    /* rc_host_scan for 0 < n <= 32, d the characters of a compact ASCII str or of a bytes
       object: no loop over the name, no partial load. The block is read as the 16 bytes at d
       and the 16 ending at d + n (they overlap when n < 32; their masks agree on the bytes
       both hold); when n < 16, the 16 ending at d + n start inside the object's header (the
       characters follow a PyASCIIObject or PyBytesObject header of at least 16 bytes:
       asserted below), and those bits are shifted out. rc_host_masks16 classifies any byte
       (one of 128-255 is never in [a-z0-9.-]: its difference to 'a' or '-' modulo 256 is
       past the range). The port: the only byte not in [a-z0-9.-] must be a ":", and every
       byte after it a digit (a short loop, only for a Host with a port). */
    static inline Py_ssize_t rc_host_scan32(const unsigned char *d, Py_ssize_t n, uint32_t *dots,
                                            int *empty) {
        unsigned da, db;
        uint32_t bad, dm;
        Py_ssize_t i, k, stop = n;
        if (n >= 16) {
            bad = rc_host_masks16(d, &da) | ((uint32_t)rc_host_masks16(d + n - 16, &db) << (n - 16));
            dm = da | ((uint32_t)db << (n - 16));
        } else {
            bad = rc_host_masks16(d + n - 16, &da) >> (16 - n);
            dm = da >> (16 - n);
        }
        if (bad) {
            i = rc_ctz(bad);
            if (bad != ((uint32_t)1 << i) || d[i] != ':')
                return -1;
            for (k = i + 1; k < n; k++)
                if ((unsigned)(d[k] - '0') > 9)
                    return -1;
            stop = i;
            dm &= ((uint32_t)1 << i) - 1;
        }
        if (stop == 0 || d[stop - 1] == '.')
            return -1;
        *empty = (dm & ((dm << 1) | 1u)) != 0;  /* two "." together, or one at 0 */
        dots[0] = dm & ~(uint32_t)1;  /* a "." at 0 starts no wildcard suffix */
        return stop;
    }
    /* the characters of a compact ASCII str (they follow its PyASCIIObject) */
    static inline const unsigned char *rc_ascii_data(PyObject *s) {
        return (const unsigned char *)(((PyASCIIObject *)s) + 1);
    }
    /* _host_lookup (a Cython cdef inline function below) always inlined into its callers, so
       that its exact probe, the common hit, is no call: the attribute is given here on a
       prototype under the C name Cython makes for it (GCC and clang merge the attributes of
       a function's declarations). tests/test_host_scan.py checks that the built module holds
       no out-of-line copy of it. */
    #if defined(__GNUC__) || defined(__clang__)
    struct __pyx_t_9routecore_8_match_c_HostHash;
    static inline __attribute__((always_inline)) int __pyx_f_9routecore_8_match_c__host_lookup(
        PyObject *, PyObject *, struct __pyx_t_9routecore_8_match_c_HostHash *, Py_ssize_t *);
    #endif

    #if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
    _Static_assert(sizeof(PyASCIIObject) >= 16, "rc_host_scan32 reads up to 15 bytes before a str's characters");
    _Static_assert(offsetof(PyBytesObject, ob_sval) >= 16, "rc_host_scan32 reads up to 15 bytes before a bytes' characters");
    #endif

    /* The common Host d[0:n] (0 < n <= 256): [a-z0-9.-] with an optional ":port" of digits.
       Returns the key's end (before the port), with dots[k] bit j: a "." at 32 * k + j > 0
       for k < (end + 31) / 32, and *empty: the key has an empty label (a leading "." or two
       together); -1 for anything else, an empty key or a trailing "." (the general reading
       decides). The bytes are looked at 32 at a time. */
    static Py_ssize_t rc_host_scan(const unsigned char *d, Py_ssize_t n, uint32_t *dots,
                                   int *empty) {
        Py_ssize_t base, i, stop = n, k = 0;
        uint32_t bad, dm, carry = 0, adj = 0;
        unsigned b0, d0, b1 = 0, d1 = 0;
        for (base = 0; base < n; base += 32) {
            if (n - base >= 32) {
                b0 = rc_host_masks16(d + base, &d0);
                b1 = rc_host_masks16(d + base + 16, &d1);
            } else if (n - base > 16) {
                b0 = rc_host_masks16(d + base, &d0);
                b1 = rc_host_masks(d + base + 16, n - base - 16, base + 16, &d1);
            } else {
                b0 = rc_host_masks(d + base, n - base, base, &d0);
                b1 = d1 = 0;
            }
            bad = b0 | ((uint32_t)b1 << 16);
            dm = d0 | ((uint32_t)d1 << 16);
            if (bad) {  /* the port: ":" then digits to the end */
                i = base + rc_ctz(bad);
                if (d[i] != ':')
                    return -1;
                for (stop = i++; i < n; i++)
                    if (d[i] < '0' || d[i] > '9')
                        return -1;
                dm &= (((uint32_t)1) << (stop - base)) - 1;
            }
            adj |= dm & ((dm << 1) | carry);
            carry = dm >> 31;
            dots[k++] = dm;
            if (bad)
                break;
        }
        if (stop == 0 || d[stop - 1] == '.')
            return -1;
        *empty = adj != 0 || d[0] == '.';
        dots[0] &= ~(uint32_t)1;  /* a "." at 0 starts no wildcard suffix */
        return stop;
    }
    """
    Py_ssize_t _host_scan "rc_host_scan"(const unsigned char* d, Py_ssize_t n, uint32_t* dots,
                                         bint* empty) nogil
    Py_ssize_t _host_scan32 "rc_host_scan32"(const unsigned char* d, Py_ssize_t n,
                                             uint32_t* dots, bint* empty) nogil
    bint PyUnicode_IS_COMPACT_ASCII(object)
    const unsigned char* _ascii_data "rc_ascii_data"(object s)


cdef inline void _host_init(HostHash* hh, PyObject* key, const unsigned char* data,
                            Py_ssize_t avail, Py_ssize_t end) noexcept:
    """hh for the key s[:end] of s (``key``, of length avail; data: its characters when one
    byte each, else NULL), nothing hashed yet; the caller sets dots, nblk, empty_label."""
    hh.key = key
    hh.data = data
    hh.avail = avail
    hh.end = end
    hh.hashed = False
    hh.long_key = False
    hh.dmap = NULL


cdef struct Bwd:
    # a backward pass over data[0:end] (data readable up to avail): h folds data[e:end]
    const unsigned char* data
    Py_ssize_t avail
    Py_ssize_t end
    uint64_t h
    Py_ssize_t e


cdef inline uint64_t _bwd_at(Bwd* b, Py_ssize_t i) noexcept:
    """The hash of data[i:end] (_hash_suffix), i at or before every position asked before."""
    cdef Py_ssize_t r
    b.h = _back_words(b.h, b.data, &b.e, i)
    r = b.e - i
    if r:
        return _fin(_step(b.h, _loadpart(b.data + i, r, b.avail - i, i)), b.end - i)
    return _fin(b.h, b.end - i)


cdef inline void _bwd_init(Bwd* b, HostHash* hh) noexcept:
    b.data = hh.data
    b.avail = hh.avail
    b.end = b.e = hh.end
    b.h = HASH_SEED


cdef inline uint64_t _host_full(HostHash* hh) noexcept:
    """The hash of the key (made on first use)."""
    cdef Bwd b
    if not hh.hashed:
        if hh.data != NULL:
            _bwd_init(&b, hh)
            hh.full = _bwd_at(&b, 0)
        else:
            hh.full = _hash_suffix(<str>hh.key, 0, hh.end)
        hh.hashed = True
    return hh.full


cdef inline bint _may_hold(uint64_t lens, Py_ssize_t n) noexcept:
    """Some key of a map whose _StrMap.lens is lens has length n."""
    return (lens >> (n if n < 63 else 63)) & 1


cdef inline void _host_dots(HostHash* hh, PyObject* wild) noexcept:
    """The hashes of the key's "." suffixes that ``wild`` (a _StrMap) can hold (dpos, dhash:
    positions decreasing), in one backward pass that stops at the longest key; dover when more
    than 32."""
    cdef Py_ssize_t k, i, lo = hh.end - (<_StrMap>wild).longest
    cdef uint64_t lens = (<_StrMap>wild).lens
    cdef uint32_t bits
    cdef Bwd b
    if hh.dmap == wild:
        return
    hh.dmap = wild
    hh.nd = 0
    hh.dover = False
    if hh.data != NULL:
        _bwd_init(&b, hh)
    for k in range(hh.nblk - 1, -1, -1):
        if 32 * k + 31 < lo:
            break
        bits = hh.dots[k]
        while bits:
            i = 32 * k + _top(bits)
            bits &= ~(1u << _top(bits))
            if i < lo:
                return
            if not _may_hold(lens, hh.end - i):
                continue
            if hh.nd == 32:
                hh.dover = True
                return
            hh.dpos[hh.nd] = i
            hh.dhash[hh.nd] = _bwd_at(&b, i) if hh.data != NULL \
                else _hash_suffix(<str>hh.key, i, hh.end)
            hh.nd += 1


cdef void _host_hash(str s, Py_ssize_t end, HostHash* hh) noexcept:
    """HostHash of the host key s[:end] (any characters): its "." after the first character (the
    keys of wildcard hostnames "*.x" are stored as ".x"), and whether it has an empty label."""
    cdef Py_ssize_t i
    _host_init(hh, <PyObject*>s, <const unsigned char*>PyUnicode_DATA(s)
               if PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND else NULL, len(s), end)
    hh.nblk = 0
    hh.empty_label = False
    hh.long_key = end > 256
    if not hh.long_key:
        hh.nblk = (end + 31) >> 5
        for i in range(hh.nblk):
            hh.dots[i] = 0
    for i in range(end):
        if s[i] == u'.':
            if i == 0 or s[i - 1] == u'.':  # an empty label: no wildcard takes it
                hh.empty_label = True
            if i >= 1 and not hh.long_key:
                hh.dots[i >> 5] |= (<uint32_t>1) << (i & 31)


cdef inline MapSlot* _host_probe(PyObject* m, HostHash* hh, Py_ssize_t i, uint64_t h) noexcept:
    """The slot of host map m (a _StrMap, borrowed) for the key's characters [i:end] with hash
    h, or NULL: the map's slots probed in place (no call, no reference) when one byte each."""
    if hh.data != NULL:
        return _probe((<_StrMap>m).slots, (<_StrMap>m).mask, hh.data + i, hh.end - i, h, 0)
    return _probe_wide(<_StrMap>m, <str>hh.key, i, hh.end, h, 0)


cdef inline int _host_lookup(PyObject* exact, PyObject* wild, HostHash* hh, Py_ssize_t* after) noexcept:
    """The value for the host key of hh (made by _host_key_hash) in the host maps exact and wild
    (_StrMaps, borrowed: the caller keeps them alive): the exact name, else the longest wildcard
    suffix starting after position after[0] (pass -1 first; on return it is where the match was
    found, so the next call yields the next shorter suffix). -1 when none is left. Inline: the
    exact probe (the common hit) makes no call; the wildcards are _host_wild's."""
    cdef MapSlot* slot
    if after[0] < 0:
        after[0] = 0
        if (<_StrMap>exact).count and _may_hold((<_StrMap>exact).lens, hh.end):
            slot = _host_probe(exact, hh, 0, _host_full(hh))
            if slot != NULL:
                return slot.value
    if (<_StrMap>wild).count == 0 or hh.empty_label or (
            hh.nblk == 1 and not _suffix_may_hold(<_StrMap>wild, hh)):
        after[0] = hh.end
        return -1
    return _host_wild(wild, hh, after)


cdef inline bint _suffix_may_hold(_StrMap wild, HostHash* hh) noexcept:
    """Some "." suffix of a key of at most 32 characters (hh.nblk 1: its "." in hh.dots[0]) has
    a length some key of ``wild`` has: a "." at i, the suffix's length end - i, is bit i of
    rlens (bit 63 - L: lens' bit L) shifted down by 63 - end. (Bit 63 of lens, 63 or more,
    shifts out: no suffix of 32 characters is that long.) Most hosts have none: no call."""
    return (hh.dots[0] & (wild.rlens >> (63 - hh.end))) != 0


cdef int _host_wild(PyObject* wild, HostHash* hh, Py_ssize_t* after) noexcept:
    """_host_lookup's wildcard part: the longest suffix of hh's key in ``wild`` (not empty)
    starting after after[0]."""
    cdef Py_ssize_t k, i, end = hh.end
    cdef MapSlot* slot
    cdef uint64_t wlens = (<_StrMap>wild).lens
    if not hh.long_key:
        _host_dots(hh, wild)
    if hh.long_key or hh.dover:  # hash the suffixes one by one, only those no longer than the
        # map's longest key (else a Host of thousands of labels costs quadratic time)
        i = end - (<_StrMap>wild).longest
        for i in range(after[0] + 1 if after[0] + 1 > i else i, end):
            if (<str>hh.key)[i] == u'.' and _may_hold(wlens, end - i):
                slot = _host_probe(wild, hh, i, _hash_suffix(<str>hh.key, i, end))
                if slot != NULL:
                    after[0] = i
                    return slot.value
        after[0] = end
        return -1
    for k in range(hh.nd - 1, -1, -1):  # dpos is in decreasing order: longest suffix last
        i = hh.dpos[k]
        if i <= after[0]:
            continue
        slot = _host_probe(wild, hh, i, hh.dhash[k])
        if slot != NULL:
            after[0] = i
            return slot.value
    after[0] = end
    return -1


cdef inline object _host_key_hash(object host, Py_ssize_t* end, HostHash* hh, bint check):
    """Native twin of routecore._paths.checked_host_key (``check``) or host_key, with HostHash
    ready for _host_lookup: returns an object whose first end[0] characters are the key (keep it
    alive while hh is used), or None when ``check`` and the Host is invalid. ``host`` is a str,
    None, or bytes (a raw header value, read as latin-1): _host_key_short, else
    _host_key_hash_any, which decides it whole."""
    cdef PyObject* k = _host_key_short(<PyObject*>host, end, hh)
    if k != NULL:
        return <object>k
    return _host_key_hash_any(host, end, hh, check)


cdef inline PyObject* _host_key_short(PyObject* host, Py_ssize_t* end, HostHash* hh) noexcept:
    """_host_key_hash's common case, with no call and no reference: a "name[:port]" of up to 32
    characters, a compact ASCII str or an exact bytes (a raw header value, as ASGI hands it
    over: its bytes are its latin-1 text, read in place, no str made), checked by
    rc_host_scan32 and hh filled here; the key is ``host`` itself (returned, borrowed: callers
    must not take it for a str). NULL for anything else (and anything rc_host_scan32
    declines): _host_key_hash_any decides it. _decide_at calls it directly (no temporary
    reference around the call, none returned)."""
    cdef Py_ssize_t n, stop
    cdef const unsigned char* d
    cdef bint empty
    if PyUnicode_CheckExact(<object>host) and PyUnicode_IS_COMPACT_ASCII(<object>host):
        n = PyUnicode_GET_LENGTH(<object>host)
        d = _ascii_data(<object>host)
    elif PyBytes_CheckExact(<object>host):
        n = PyBytes_GET_SIZE(<object>host)
        d = <const unsigned char*>PyBytes_AS_STRING(<object>host)
    else:
        return NULL
    if 0 < n <= 32:
        stop = _host_scan32(d, n, hh.dots, &empty)
        if stop > 0:
            _host_short(hh, host, d, n, stop, empty)
            end[0] = stop
            return host
    return NULL


cdef inline void _host_short(HostHash* hh, PyObject* host, const unsigned char* d, Py_ssize_t n,
                             Py_ssize_t stop, bint empty) noexcept:
    """hh for the key d[:stop] of ``host`` (n characters of one byte at d) that rc_host_scan32
    accepted (its "." already in hh.dots[0])."""
    hh.key = host
    hh.data = d
    hh.avail = n
    hh.end = stop
    hh.hashed = False
    hh.long_key = False
    hh.dmap = NULL
    hh.nblk = 1  # stop <= 32
    hh.empty_label = empty


cdef object _host_key_hash_any(object host, Py_ssize_t* end, HostHash* hh, bint check):
    """_host_key_hash for any Host _host_key_short declined (its callers try that first):
    bytes are decoded (latin-1) and read as text; a lower-case "name[:port]" str of 33 to 256
    characters takes rc_host_scan (no copy, no reference but the one returned); anything else
    goes through checked_host_key / host_key."""
    cdef str key
    cdef Py_ssize_t n, stop = -1
    cdef const unsigned char* data
    cdef bint empty
    if type(host) is bytes:
        host = _text(host)
    if host is not None:
        n = PyUnicode_GET_LENGTH(host)
        if 32 < n <= 256 and PyUnicode_IS_ASCII(host):
            data = <const unsigned char*>PyUnicode_DATA(host)
            if data[0] != 91:  # "[": an IPv6 literal
                stop = _host_scan(data, n, hh.dots, &empty)
        if stop > 0:
            _host_init(hh, <PyObject*>host, <const unsigned char*>PyUnicode_DATA(host), n, stop)
            hh.nblk = (stop + 31) >> 5
            hh.empty_label = empty
            end[0] = stop
            return host
        if not check:
            key = _py_host_key(host)
        else:
            key = _py_checked_host_key(host)
            if key is None:
                end[0] = 0
                return None
    else:
        key = ""
    end[0] = len(key)
    _host_hash(key, end[0], hh)
    return key


def _host_key_for_tests(host, bint check=True):
    """What _host_key_short, else _host_key_hash_any (as _decide_at calls them) make of
    ``host`` (str, bytes or None), for tests: None (invalid), else (the key as text, its
    hash, the "." bit mask of its first 32 characters, whether it has an empty label, whether
    it was read in place by _host_key_short)."""
    cdef HostHash hh
    cdef Py_ssize_t n
    cdef PyObject* kp = _host_key_short(<PyObject*>host, &n, &hh)
    cdef object k = <object>kp if kp != NULL else _host_key_hash_any(host, &n, &hh, check)
    if k is None:
        return None
    return (_text(k)[:n], _host_full(&hh), hh.dots[0] if hh.nblk else 0, bool(hh.empty_label),
            kp != NULL)

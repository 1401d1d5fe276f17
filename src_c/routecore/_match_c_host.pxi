# The native twin's Host handling (routecore._match_c), included by _match_c.pyx: a request's
# Host checked and reduced to its key (routecore._paths.checked_host_key / host_key), and the key
# looked up in the host maps (exact name, then "*.suffix" wildcards longest first).
#
# Invariants:
# - checking a Host never hashes it: HostHash records where the key is and where its "." are;
#   the key's hash is made on the first exact probe (_host_full), the "." suffix hashes on the
#   first wildcard probe (_host_dots), each once per request. So a mesh view (the Host plays no
#   part in matching) and an empty map pay for no hash.
# - the hashes are those of _match_c_hash.pxi's _hash_suffix, which the maps were built with.


cdef inline void _push_dot(HostHash* hh, Py_ssize_t i) noexcept:
    """Remember the "." at ``i`` (positions are pushed in decreasing order)."""
    if hh.nd < 32:
        hh.dpos[hh.nd] = i
        hh.nd += 1
    else:
        hh.overflow = True


cdef inline void _host_init(HostHash* hh, str key, Py_ssize_t end) noexcept:
    hh.key = <PyObject*>key
    hh.data = <const unsigned char*>PyUnicode_DATA(key) \
        if PyUnicode_KIND(key) == PyUnicode_1BYTE_KIND else NULL
    hh.avail = PyUnicode_GET_LENGTH(key)
    hh.end = end
    hh.hashed = 0
    hh.nd = 0
    hh.overflow = False
    hh.empty_label = False


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
    while b.e - i >= 8:
        b.e -= 8
        b.h = _step(b.h, _load64(b.data + b.e))
    r = b.e - i
    if r:
        return _fin(_step(b.h, _loadpart(b.data + i, r, b.avail - i, i)), b.end - i)
    return _fin(b.h, b.end - i)


cdef inline uint64_t _host_full(HostHash* hh) noexcept:
    """The hash of the key (made on first use)."""
    cdef Bwd b
    if not hh.hashed & 1:
        if hh.data != NULL:
            b.data = hh.data
            b.avail = hh.avail
            b.end = b.e = hh.end
            b.h = HASH_SEED
            hh.full = _bwd_at(&b, 0)
        else:
            hh.full = _hash_suffix(<str>hh.key, 0, hh.end)
        hh.hashed |= 1
    return hh.full


cdef void _host_dots(HostHash* hh) noexcept:
    """The hashes of the key's suffixes at its "." (dhash, in dpos order), in one backward pass."""
    cdef Py_ssize_t k
    cdef Bwd b
    if hh.hashed & 2:
        return
    if hh.data != NULL:
        b.data = hh.data
        b.avail = hh.avail
        b.end = b.e = hh.end
        b.h = HASH_SEED
        for k in range(hh.nd):
            hh.dhash[k] = _bwd_at(&b, hh.dpos[k])
    else:
        for k in range(hh.nd):
            hh.dhash[k] = _hash_suffix(<str>hh.key, hh.dpos[k], hh.end)
    hh.hashed |= 2


cdef void _host_hash(str s, Py_ssize_t end, HostHash* hh) noexcept:
    """HostHash of the host key s[:end] (any characters): its "." after the first character (the
    keys of wildcard hostnames "*.x" are stored as ".x"), and whether it has an empty label."""
    cdef Py_ssize_t i
    _host_init(hh, s, end)
    for i in range(end - 1, -1, -1):
        if s[i] == u'.':
            if i == 0 or s[i - 1] == u'.':  # an empty label: no wildcard takes it
                hh.empty_label = True
            if i >= 1:
                _push_dot(hh, i)


cdef int _host_lookup(_StrMap exact, _StrMap wild, str s, Py_ssize_t end, HostHash* hh,
                      Py_ssize_t* after) noexcept:
    """The value for host s[:end]: the exact name, else the longest wildcard suffix starting
    after position after[0] (pass -1 first; on return it is where the match was found, so the
    next call yields the next shorter suffix). -1 when none is left."""
    cdef Py_ssize_t k, i
    cdef MapSlot* slot
    if after[0] < 0:
        after[0] = 0
        if exact.count:
            slot = exact.get_at(s, 0, end, _host_full(hh), 0)
            if slot != NULL:
                return slot.value
    if wild.count == 0 or hh.empty_label:
        after[0] = end
        return -1
    if hh.overflow:  # more than 32 labels: hash the suffixes one by one, only those no longer
        # than the map's longest key (else a Host of thousands of labels costs quadratic time)
        i = end - wild.longest
        for i in range(after[0] + 1 if after[0] + 1 > i else i, end):
            if s[i] == u'.':
                slot = wild.get_at(s, i, end, _hash_suffix(s, i, end), 0)
                if slot != NULL:
                    after[0] = i
                    return slot.value
        after[0] = end
        return -1
    _host_dots(hh)
    for k in range(hh.nd - 1, -1, -1):  # dpos is in decreasing order: longest suffix last
        i = hh.dpos[k]
        if i <= after[0] or end - i > wild.longest:  # (no key is that long)
            continue
        slot = wild.get_at(s, i, end, hh.dhash[k], 0)
        if slot != NULL:
            after[0] = i
            return slot.value
    after[0] = end
    return -1


cdef Py_ssize_t _host_fast(str h, const unsigned char* data, Py_ssize_t n, HostHash* hh) noexcept:
    """The common Host: lower-case ASCII letters, digits, "-" and "." with an optional ":port" of
    digits, at most 256 bytes, no empty or trailing label. Returns the key's end (before the
    port) with hh filled (the "." found 16 bytes at a time), or -1 for anything else
    (routecore._paths.checked_host_key decides)."""
    cdef unsigned bad
    cdef unsigned dots[16]
    cdef Py_ssize_t base, k, i, stop = n, nblocks = (n + 15) >> 4
    if n > 256:
        return -1
    for k in range(nblocks):
        base = k << 4
        bad = _host_masks(data + base, n - base, base, &dots[k])
        if bad:
            i = base + _ctz(bad)
            if data[i] != 58 or stop != n:  # not ":", or a second one
                return -1
            stop = i
            for i in range(i + 1, n):
                if not 48 <= data[i] <= 57:  # the port is digits
                    return -1
            dots[k] &= (1u << (stop - base)) - 1
            nblocks = k + 1
            break
    if stop == 0 or data[stop - 1] == 46:  # no key, or a trailing "." (host_key drops it)
        return -1
    _host_init(hh, h, stop)
    for k in range(nblocks - 1, -1, -1):
        bad = dots[k]
        while bad:
            i = (k << 4) + _top(bad)
            bad &= ~(1u << _top(bad))
            if i == 0 or data[i - 1] == 46:  # an empty label: no wildcard takes it
                hh.empty_label = True
            if i >= 1:
                _push_dot(hh, i)
    return stop


cdef object _host_key_hash(object host, Py_ssize_t* end, HostHash* hh, bint check):
    """Native twin of routecore._paths.checked_host_key (``check``) or host_key, with HostHash
    ready for _host_lookup: returns a string whose first end[0] characters are the key (keep it
    alive while hh is used), or None when ``check`` and the Host is invalid. The common
    lower-case "name[:port]" takes _host_fast (no copy); anything else goes through
    checked_host_key / host_key."""
    cdef str h, key
    cdef Py_ssize_t n, stop
    cdef const unsigned char* data
    if host is not None:
        h = <str>host
        n = len(h)
        if n and PyUnicode_IS_ASCII(h):
            data = <const unsigned char*>PyUnicode_DATA(h)
            if data[0] != 91:  # "[": an IPv6 literal
                stop = _host_fast(h, data, n, hh)
                if stop > 0:
                    end[0] = stop
                    return h
        if not check:
            key = _py_host_key(h)
        else:
            key = _py_checked_host_key(h)
            if key is None:
                end[0] = 0
                return None
    else:
        key = ""
    end[0] = len(key)
    _host_hash(key, end[0], hh)
    return key

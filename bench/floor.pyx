# cython: language_level=3
"""Bench-only floors (compiled by bench/floor.py, never shipped): Cython methods with
``view.route``'s signature, so a benchmark can subtract what the call itself costs.

- ``Floor.route``: returns at once (the cost of the loop and the call);
- ``Floor.route_headers``: walks the headers as route() must (each (name, value) pair of a list
  or tuple, or ``items()`` of a Mapping) and returns None: the cost of touching a real header list.
"""


cdef class Floor:
    def route(self, method, path, headers=(), *, host=None, scheme=None, sni=None):
        return None

    def route_headers(self, method, path, headers=(), *, host=None, scheme=None, sni=None):
        items = headers if (type(headers) is list or type(headers) is tuple) else headers.items()
        for name, value in items:
            pass
        return None

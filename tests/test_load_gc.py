"""routecore.load's pause of the cycle collector (load.bulk_build): what it leaves behind."""
import gc
import sys

import routecore
from routecore._config.load import bulk_build

from builders import be, httproute, prefix, rule, svc_ref


def _objects(n=50):
    return [httproute(f"r{i}", [svc_ref("svc", port=80)], [rule(be("b"), matches=[prefix(f"/p{i}")])])
            for i in range(n)]


def collections_during(fn):
    """``fn()`` and the generation of every collection the cycle collector started meanwhile."""
    seen = []

    def record(phase, info):
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(record)
    try:
        out = fn()
    finally:
        gc.callbacks.remove(record)
    return out, seen


def test_load_leaves_its_models_in_the_oldest_generation_without_a_collection():
    objects = _objects()
    config, collections = collections_during(lambda: routecore.load(objects))
    assert collections == []  # nothing walked the objects just built
    assert gc.isenabled()
    route_model = config.routes[0]
    assert gc.is_tracked(route_model)
    assert any(o is route_model for o in gc.get_objects(generation=2))
    assert not any(o is route_model for o in gc.get_objects(generation=0))
    assert gc.get_count()[0] < 700  # the young counter starts again


def test_load_keeps_the_programs_frozen_objects_frozen():
    objects = _objects()
    gc.freeze()  # as a program does before forking workers
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        config, collections = collections_during(lambda: routecore.load(objects))
        assert gc.get_freeze_count() >= frozen  # not released by the load
        assert collections == [1]  # the young generations collected instead
        assert any(o is config.routes[0] for o in gc.get_objects(generation=2))
    finally:
        gc.unfreeze()


def test_nested_builds_pause_once_and_settle_once():
    objects = _objects()

    def nested():
        with bulk_build():
            with bulk_build():
                routecore.load(objects)
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled()

    _, collections = collections_during(nested)
    assert collections == []


def test_a_build_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        routecore.load(_objects())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_allocation_as_the_collector_resumes_walks_nothing():
    """Between resuming the collector and settling the build, an allocation (a profiler's, as
    cProfile makes at every call, or another thread's) would start a collection of the young
    generation, which then holds every object the build made."""
    objects = _objects(500)  # (far more new objects than the young generation's threshold)
    sys_profile = sys.getprofile()

    def allocating(frame, event, arg):
        [event]  # a new tracked object at every call and return, C functions included

    def profiled_load():
        sys.setprofile(allocating)
        try:
            return routecore.load(objects)
        finally:
            sys.setprofile(sys_profile)

    config, collections = collections_during(profiled_load)
    assert collections == []
    assert any(o is config.routes[0] for o in gc.get_objects(generation=2))

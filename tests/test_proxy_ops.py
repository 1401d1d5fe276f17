"""Issue 10, findings 13-15 end to end: a real `routecore serve` subprocess with --admin,
--log-format json and a mistyped --upstream key; its start-up line, warnings, JSON access lines,
reload lines and Prometheus metrics, read with a real HTTP client."""
import json
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from test_proxy_rig import CONFIG, Recorder, Serve, free_port, wait_for_port, wait_until, write_config


def samples(text, name):
    return [s for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name]


def test_admin_metrics_json_log_warnings_and_reloads(tmp_path):
    upstream = Recorder()
    path = write_config(tmp_path)
    admin = free_port()
    proxy = Serve(path, {"shop/v1:80": upstream.url, "shop/m2:80": upstream.url},
                  "--admin", f"127.0.0.1:{admin}", "--log-format", "json", "--watch")
    try:
        wait_for_port(admin, proc=proxy.proc)
        base = f"http://127.0.0.1:{admin}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200)
        with httpx.Client(base_url=f"http://127.0.0.1:{proxy.port}") as client:
            assert client.get("/routed/a", headers={"host": "shop"}).status_code == 200
            assert client.get("/old/x", headers={"host": "shop"}).status_code == 301
        metrics = httpx.get(f"{base}/metrics").text
        counts = {(s.labels["route"], s.labels["backend"], s.labels["code"]): s.value
                  for s in samples(metrics, "routecore_requests_total")}
        assert counts[("shop/app", "shop/v1:80", "200")] == 1
        assert counts[("shop/app", "-", "301")] == 1
        assert [s.value for s in samples(metrics, "routecore_config_generation")] == [0]

        # a reload that drops the served Gateway is refused, then a valid one is taken
        path.write_text(CONFIG.replace("name: gw,", "name: other,"))
        assert wait_until(lambda: "configuration refused" in proxy.output(), timeout=15)
        path.write_text(CONFIG + "\n# touched\n")
        assert wait_until(lambda: "configuration reloaded: generation=1" in proxy.output(),
                          timeout=15)
        metrics = httpx.get(f"{base}/metrics").text
        reloads = {s.labels["outcome"]: s.value
                   for s in samples(metrics, "routecore_config_reloads_total")}
        assert reloads == {"success": 1, "failure": 1}
        assert [s.value for s in samples(metrics, "routecore_config_generation")] == [1]
    finally:
        out = proxy.stop()
        upstream.close()
    lines = out.splitlines()
    start = next(l for l in lines if "serving: core=" in l)
    assert f"listen=127.0.0.1:{proxy.port}" in start and "generation=0" in start
    assert start[:4].isdigit() and "Z INFO " in start  # timestamped
    # the mistyped key is named with the nearest backend, at start-up and after the reload
    typo = [l for l in lines if "--upstream shop/m2:80" in l]
    assert len(typo) == 2 and all("nearest backend: shop/m1:80" in l for l in typo), typo
    records = [json.loads(l) for l in lines if l.startswith("{")]
    assert [(r["method"], r["target"], r["status"], r["backend"]) for r in records] == [
        ("GET", "/routed/a", 200, "shop/v1:80"), ("GET", "/old/x", 301, None)]
    assert all(r["time"].endswith("Z") and r["protocol"] == "HTTP/1.1" for r in records)
    assert not any("Traceback" in l for l in lines)

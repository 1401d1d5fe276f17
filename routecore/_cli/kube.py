"""`routecore serve --kubernetes`: the arguments, and the run (routecore._serve.kube does the work).

Invariants: --kubernetes never reads a CONFIG path; --gateway NS/NAME serves every listener port
of that Gateway and of its accepted ListenerSets (HTTP, HTTPS, TLS, TCP, UDP) on the --listen
HOST; --service NS/NAME:PORT serves that Service port's
routes on --listen HOST:PORT (sidecar style); a mistake in the arguments is a UsageError before
anything connects.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from .args import UsageError


def add_arguments(s: argparse.ArgumentParser) -> None:
    k = s.add_argument_group("Kubernetes (routecore serve --kubernetes)")
    k.add_argument("--kubernetes", action="store_true",
                   help="read the configuration from the Kubernetes API server (list and watch) "
                        "and write status back as the leader among replicas")
    k.add_argument("--kubeconfig", metavar="PATH",
                   help="kubeconfig file (default: $KUBECONFIG, else in a Pod its service "
                        "account, else ~/.kube/config)")
    k.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current)")
    k.add_argument("--controller-name", metavar="NAME", default=None,
                   help="the GatewayClass controllerName served and written in status "
                        "(default routecore.dev/gateway-controller)")
    k.add_argument("--watch-namespace", action="append", metavar="NS", dest="watch_namespaces",
                   help="watch only these namespaces (repeat; default: all)")
    k.add_argument("--no-status", action="store_true",
                   help="never write status (and take no part in leader election)")
    k.add_argument("--lease-namespace", metavar="NS",
                   help="namespace of the leader-election Lease (default: the client's)")
    k.add_argument("--lease-name", default="routecore-gateway-controller", metavar="NAME")
    k.add_argument("--identity", metavar="ID", help="this replica's Lease holder identity "
                                                     "(default: hostname and a random suffix)")
    for flag, default, what in (("--lease-duration", 15.0, "Lease duration"),
                                ("--renew-deadline", 10.0, "time the leader keeps trying to renew"),
                                ("--retry-period", 2.0, "time between Lease attempts"),
                                ("--debounce", 0.1, "window in which watch events are applied together")):
        k.add_argument(flag, type=float, default=default, metavar="SECONDS",
                       help=f"{what} (default {default:g} s)")


def _listen(args):
    """(host, port or None) of --listen for the mode chosen."""
    text = args.listen
    if args.gateway is not None:
        host = text or "127.0.0.1"
        if ":" in host and host.rpartition(":")[2].isdigit() and not host.startswith("["):
            raise UsageError("with --kubernetes --gateway, --listen takes a HOST only: the ports "
                             "are those of the Gateway's listeners")
        return host.strip("[]"), None
    host, _, port = (text or "127.0.0.1:8080").rpartition(":")
    if not port.isdigit():
        raise UsageError(f"--listen expects HOST:PORT, got {text!r}")
    return (host or "127.0.0.1").strip("[]"), int(port)


def serve_kubernetes(args, upstreams, settings, admin, access_log) -> int:
    """Run until SIGTERM/SIGINT (the caller checked that the kube extra is installed)."""
    from ..kube import DEFAULT_CONTROLLER, KubeSource
    from .._serve.admin import Metrics, start_admin
    from .._serve.kube import KubeCollector, KubeServer, cluster_upstream, install_signals
    from .._serve.ops import flush_logs
    from .._serve.proxy import Proxy, new_loop

    if args.path is not None:
        raise UsageError("--kubernetes reads the configuration from the API server: no CONFIG path")
    if args.watch or args.bypass_routing:
        raise UsageError("--watch and --bypass-routing do not go with --kubernetes")
    if args.tls_secret:
        raise UsageError("--tls-secret does not go with --kubernetes: certificates come from the "
                         "cluster's Secrets")
    gateway = service = None
    if args.gateway is not None:
        ns, name, port = args.gateway
        if port is not None:
            raise UsageError("with --kubernetes, --gateway takes NS/NAME: every listener port is served")
        gateway = (ns, name)
    else:
        ns, name, port = args.service
        if port is None:
            raise UsageError("--service needs NS/NAME:PORT")
        service = (ns, name, port, args.client_namespace)
    if args.client_namespace is not None and service is None:
        raise UsageError("--client-namespace goes with --service")
    host, listen_port = _listen(args)

    source = KubeSource(
        kubeconfig=args.kubeconfig, context=args.context, namespaces=args.watch_namespaces,
        controller_name=args.controller_name or DEFAULT_CONTROLLER, debounce=args.debounce,
        write_status=not args.no_status, lease_name=args.lease_name,
        lease_namespace=args.lease_namespace, identity=args.identity,
        lease_duration=args.lease_duration, renew_deadline=args.renew_deadline,
        retry_period=args.retry_period, seed=args.seed)
    metrics = Metrics()
    metrics.registry.register(KubeCollector(source))
    # without --admin nothing can read the metrics: they are not counted (as in file serving)
    observers = (access_log,) + ((metrics.observe,) if admin is not None else ())

    def make_proxy(key, select):
        return Proxy(source.router, select, upstreams, settings, observers=observers,
                     default_upstream=cluster_upstream, selects={key: select})

    def changed(router, keys):
        metrics.reloaded(True, router.generation)

    server = KubeServer(source, host=host, make_proxy=make_proxy, gateway=gateway,
                        service=service, listen_port=listen_port, on_change=changed)
    log = logging.getLogger("routecore.serve")
    what = f"Gateway {gateway[0]}/{gateway[1]}" if gateway else \
        f"Service {service[0]}/{service[1]}:{service[2]}"
    log.info("routecore serve --kubernetes: %s on %s, controller %s", what, host,
             source.controller_name)

    async def main():
        stop = asyncio.Event()
        install_signals(stop)
        admin_server = None
        if admin is not None:
            admin_server = await start_admin(*admin, metrics=metrics, ready=server.ready)
        try:
            await server.run(stop)
        finally:
            if admin_server is not None:
                admin_server.close()

    loop = new_loop()
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main())
    except Exception as exc:  # noqa: BLE001 - a configuration problem (kubeconfig...)
        print(f"routecore: {exc}", file=sys.stderr)
        return 1
    finally:
        flush_logs()  # the access lines of the loop's last iteration
        loop.close()
    return 0

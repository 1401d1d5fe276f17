"""The `routecore` command line: check configuration files, decide one request.

Invariants: a configuration argument is a file or folder path, or `-` for stdin; YAML text is
read only from an explicit `--text`, never guessed from an argument; a path that does not exist
is "no such file: PATH" (exit status 2, as for every usage error); output cut short by a closed
pipe (`| head`) ends the command quietly.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from .args import (UsageError, add_view_arguments, load_config, parent_arg, read_config,
                        view_selector)
from .._errors import ConfigError
from .._extras import missing
from .._config.sources import config_files, read_text
from .._version import __version__


def _header(text: str):
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _request_arguments(r: argparse.ArgumentParser) -> None:
    """The view and request arguments shared by `route` and `explain`."""
    r.add_argument("path", metavar="PATH", help="a configuration file or folder ('-': stdin)")
    add_view_arguments(r)
    r.add_argument("method", metavar="METHOD")
    r.add_argument("target", metavar="TARGET", help="the request-target, e.g. /path?query")
    r.add_argument("-H", "--header", action="append", default=[], type=_header,
                   metavar="'Name: value'")
    r.add_argument("--host", help="the Host / :authority of the request")
    r.add_argument("--scheme", choices=("http", "https"))
    r.add_argument("--seed", type=int, help="make weighted backend choices reproducible")
    r.add_argument("--pure", action="store_true", help="use the pure-Python twin")


def _view(args):
    """(view, 0) for the --service/--gateway of ``args``, or (None, exit code) once reported."""
    select = view_selector(args)
    try:
        router = load_config(args.path, seed=args.seed, native=False if args.pure else None)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None, 1
    try:
        return select(router), 0
    except LookupError as exc:
        print(f"routecore: {exc}", file=sys.stderr)
        return None, 2


def parser() -> argparse.ArgumentParser:
    """The `routecore` command line (its subcommands and their arguments)."""
    p = argparse.ArgumentParser(prog="routecore", description=__doc__.partition("\n")[0])
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser(
        "check", help="validate configuration files and warn about what routes nothing "
                      "(exit 0: no errors, 1: errors, 2: usage, 3: warnings with --strict)")
    c.add_argument("paths", nargs="*", metavar="PATH",
                   help="configuration files or folders ('-': stdin)")
    c.add_argument("--text", action="append", default=[], metavar="YAML",
                   help="configuration given as YAML/JSON text (repeatable)")
    c.add_argument("--strict", action="store_true", help="warnings fail too (exit status 3)")
    c.add_argument("-o", "--output", choices=("text", "json"), default="text",
                   help="json: one list of {level, kind, namespace, name, path, message, file, "
                        "line, column}")
    r = sub.add_parser("route", help="decide one request and print the decision as JSON")
    _request_arguments(r)
    e = sub.add_parser("explain", help="show every candidate rule match of one request, in "
                                       "precedence order, and why each did or did not win")
    _request_arguments(e)
    e.add_argument("--json", action="store_true", help="print the explanation as JSON")
    from .diff import add_parser as _add_diff_parser  # `routecore diff`
    _add_diff_parser(sub)
    s = sub.add_parser("serve", help="run a reverse proxy that routes with this configuration")
    s.add_argument("path", metavar="CONFIG", nargs="?",
                   help="a configuration file or folder (not with --kubernetes)")
    add_view_arguments(s)
    s.add_argument("--upstream", action="append", default=[], metavar="NS/NAME:PORT=URL",
                   help="where a backend (or mirror) is served, e.g. default/api:8080=http://127.0.0.1:9001 "
                        "(tcp://HOST:PORT or udp://HOST:PORT for TCP, TLS and UDP routes' backends)")
    s.add_argument("--listen", metavar="HOST[:PORT]",
                   help="HOST:PORT: serve the --gateway port (default 80) there; HOST alone: "
                        "serve every listener port of the Gateway on HOST, at its own number "
                        "(default 127.0.0.1:8080; with --kubernetes --gateway a HOST only)")
    s.add_argument("--tls-secret", action="append", default=[], metavar="NS/NAME=CERT,KEY",
                   help="the Secret a listener's certificateRefs names, from PEM files (repeatable; "
                        "wins over a Secret of that name in the configuration)")
    s.add_argument("--watch", action="store_true", help="reload the configuration when it changes")
    s.add_argument("--seed", type=int, help="make weighted backend choices reproducible")
    s.add_argument("--trusted-proxies", nargs="+", default=[], metavar="CIDR", type=_cidr,
                   help="peers whose X-Forwarded-For/-Proto/-Host are believed (default: none)")
    s.add_argument("--max-buffered-body", type=_size, default=1 << 20, metavar="BYTES",
                   help="largest body buffered to be replayed by retries and mirrors (default 1 MiB)")
    for flag, default, what in _SERVE_TIMEOUTS:
        s.add_argument(flag, type=_seconds, default=default, metavar="SECONDS",
                       help=f"{what} (default {default:g} s; 0 = none)")
    s.add_argument("--max-url-bytes", type=_size, default=16384, metavar="BYTES",
                   help="longest request-target; longer: 414 (default 16384)")
    s.add_argument("--max-header-bytes", type=_size, default=65536, metavar="BYTES",
                   help="largest header block; larger: 431 (default 65536)")
    s.add_argument("--max-headers", type=_size, default=100, metavar="N",
                   help="most header fields; more: 431 (default 100)")
    s.add_argument("--max-udp-flows", type=_size, default=4096, metavar="N",
                   help="live UDP flows (client addresses) per port; datagrams of new clients "
                        "beyond it are dropped (default 4096)")
    s.add_argument("--admin", metavar="HOST:PORT",
                   help="serve /healthz, /readyz and Prometheus /metrics on this address")
    s.add_argument("--log-level", default="info", metavar="LEVEL",
                   help="debug, info (default: one access line per request), warning, error")
    s.add_argument("--log-format", default="text", choices=("text", "json"),
                   help="access-log lines as text (default) or one JSON object per line")
    s.add_argument("--bypass-routing", metavar="URL", help=argparse.SUPPRESS)  # bench/ only
    from .kube import add_arguments as _add_kube_arguments  # `routecore serve --kubernetes`
    _add_kube_arguments(s)
    return p


_SERVE_TIMEOUTS = (
    ("--header-timeout", 10.0, "time to receive a request's head"),
    ("--keepalive-timeout", 60.0, "idle time of a client connection between requests"),
    ("--body-timeout", 60.0, "idle time while receiving a request body"),
    ("--connect-timeout", 5.0, "time to connect to an upstream"),
    ("--upstream-timeout", 60.0, "time to an upstream's response head, and idle time while reading "
                                 "its body, when the route has no timeouts"),
    ("--stream-idle-timeout", 3600.0, "idle time of a TCP or TLS connection spliced to a backend"),
    ("--udp-idle-timeout", 60.0, "idle time after which a UDP client's flow ends"),
)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {text!r}")
    return value


def _size(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def _cidr(text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _serve(args) -> int:
    try:
        from .._serve.proxy import Settings, serve
        from .._serve.admin import Metrics, start_admin
        from .._serve.frontend import Gateway
        from .._serve.ports import read_tls_secrets
        from .._serve.tls import TLSConfigError
    except ModuleNotFoundError as exc:
        return missing(exc, "serve", "routecore serve")
    from .._serve.ops import AccessLog, configure_logging

    try:
        configure_logging(args.log_level, args.log_format)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    admin = None
    if args.admin:
        admin_host, _, admin_port = args.admin.rpartition(":")
        if not admin_port.isdigit():
            raise UsageError(f"--admin expects HOST:PORT, got {args.admin!r}")
        admin = (admin_host or "127.0.0.1", int(admin_port))

    upstreams = {}
    for item in args.upstream:
        key, sep, url = item.partition("=")
        if not sep or "://" not in url:
            print(f"routecore: --upstream expects NS/NAME:PORT=URL, got {item!r}", file=sys.stderr)
            return 2
        try:
            ns, name, port = parent_arg(key)
        except argparse.ArgumentTypeError:
            port = None
        if port is None or not url.startswith(("http://", "tcp://", "udp://")):
            print(f"routecore: --upstream expects NS/NAME:PORT=http://HOST:PORT (or tcp://, "
                  f"udp://), got {item!r}", file=sys.stderr)
            return 2
        upstreams[f"{ns}/{name}:{port}"] = url
    settings = Settings(
        header_timeout=args.header_timeout, keepalive_timeout=args.keepalive_timeout,
        body_timeout=args.body_timeout, connect_timeout=args.connect_timeout,
        upstream_timeout=args.upstream_timeout, max_buffered_body=args.max_buffered_body,
        max_url=args.max_url_bytes, max_header_bytes=args.max_header_bytes,
        max_headers=args.max_headers, trusted_proxies=args.trusted_proxies,
        stream_idle_timeout=args.stream_idle_timeout, udp_idle_timeout=args.udp_idle_timeout,
        max_udp_flows=args.max_udp_flows)
    if args.kubernetes:
        try:
            import httpx  # noqa: F401 - routecore.kube's client (the kube extra)
        except ModuleNotFoundError as exc:
            return missing(exc, "kube", "routecore serve --kubernetes")
        from .kube import serve_kubernetes
        return serve_kubernetes(args, upstreams, settings, admin, AccessLog(args.log_format))
    if args.path is None:
        raise UsageError("serve needs a CONFIG path, or --kubernetes")
    listen = args.listen or "127.0.0.1:8080"
    host, _, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit():  # HOST alone: every listener port
        host, port_text = listen, ""
    if not host or (not port_text and args.service is not None):
        print(f"routecore: --listen expects HOST:PORT, got {listen!r}", file=sys.stderr)
        return 2
    try:
        tls_secrets = read_tls_secrets(args.tls_secret)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    select = view_selector(args)
    try:
        router = load_config(args.path, seed=args.seed)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    gateway = None
    try:
        if args.gateway is None or port_text:
            select(router)  # the one view served (LookupError: no such Gateway port/Service)
        if args.gateway is not None:
            ns, name, gw_port = args.gateway
            if port_text:
                gw_port = 80 if gw_port is None else gw_port
            gateway = Gateway(router, ns, name, host, port=gw_port,
                              local_port=int(port_text) if port_text else None,
                              tls_secrets=tls_secrets)
    except LookupError as exc:
        print(f"routecore: {exc}", file=sys.stderr)
        return 2
    except TLSConfigError as exc:
        print(f"routecore: {exc}", file=sys.stderr)
        return 1
    metrics = Metrics(generation=router.generation, native=router.native)
    listening = []  # the proxy's server once it listens: /readyz answers 200 from then on
    on_startup = ()
    if admin is not None:
        async def start_admin_listener():
            await start_admin(*admin, metrics=metrics, ready=lambda: bool(listening))
        on_startup = (start_admin_listener,)
    serve(router, select, upstreams, host, int(port_text or 0), gateway=gateway,
          watch_path=args.path if args.watch else None, settings=settings,
          # without --admin nothing can read the metrics: they are not counted
          observers=(AccessLog(args.log_format),) + ((metrics.observe,) if admin else ()),
          on_reload=metrics.reloaded,
          on_startup=on_startup, fixed_upstream=args.bypass_routing, source=args.path,
          ready=listening.append)
    return 0


def _version() -> str:
    from .._match import NATIVE

    return f"routecore {__version__} ({'native core' if NATIVE else 'pure-Python twin'})"


def _check(args) -> int:
    """`routecore check`: 0 no errors (warnings printed), 1 errors, 3 warnings with --strict."""
    from .check import ERROR, WARNING, Finding, check, source_warning

    if not args.paths and not args.text:
        raise UsageError("check needs a PATH, '-' or --text YAML")
    sources = [(path, "<stdin>" if path == "-" else path, read_config) for path in args.paths]
    sources += [(text, f"<text {n}>", read_text) for n, text in enumerate(args.text, 1)]
    raws, unread, findings = [], [], []
    for source, label, read in sources:
        try:
            got = read(source)
        except ConfigError as exc:  # unreadable (YAML syntax...): reported, the others are read
            unread.extend(Finding(ERROR, i) for i in exc.errors)
            continue
        if not got:
            empty = read is read_config and os.path.isdir(source) and not config_files(source)
            findings.append(source_warning(label, "no .yaml, .yml or .json file in this folder"
                                           if empty else "no Kubernetes objects (nothing to check)"))
        raws.extend(got)
    found = check(raws)
    if unread:  # errors only (warnings are looked for once there are none)
        found = unread + [f for f in found if f.level == ERROR]
    findings = found + findings
    errors = sum(f.level != WARNING for f in findings)
    warnings = len(findings) - errors
    if args.output == "json":
        print(json.dumps([f.to_dict() for f in findings], indent=2))
    else:
        for f in findings:
            print(f)
    if findings:
        print(f"{errors} error(s), {warnings} warning(s) in {len(raws)} object(s)", file=sys.stderr)
    elif args.output == "text":
        print(f"ok: {len(raws)} object(s) valid")
    if errors:
        return 1
    return 3 if warnings and args.strict else 0


def _run(argv: Optional[List[str]]) -> int:
    args = parser().parse_args(argv)
    if args.command == "diff":
        from .diff import run_cli as _run_diff
        return _run_diff(args)
    if args.command == "check":
        return _check(args)
    if args.command == "serve":
        return _serve(args)
    view, code = _view(args)
    if view is None:
        return code
    if args.command == "explain":
        explanation = view.explain(args.method, args.target, args.header, host=args.host,
                                   scheme=args.scheme)
        if args.json:
            print(json.dumps(explanation.to_dict(), indent=2))
        else:
            print(explanation)
        return 0
    decision = view.route(args.method, args.target, args.header, host=args.host,
                          scheme=args.scheme)
    out = decision.to_dict()
    out["request_headers"] = decision.apply_request_headers(args.header)
    print(json.dumps(out, indent=2, sort_keys=False))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    try:
        code = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except UsageError as exc:
        print(f"routecore: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`routecore ... | head`): stop quietly; 141 is what a shell shows
        # for a command ended by SIGPIPE. Point stdout at /dev/null so that the interpreter's
        # final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141

"""What every `routecore` subcommand reads the same way: configuration arguments and the
--gateway/--service choice of a view.

Invariants: a configuration argument is a file or folder path, or `-` for stdin, never YAML text
guessed from an argument; a command-line mistake raises UsageError (printed as
`routecore: MESSAGE`, exit status 2).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
from typing import Callable

from .._config.load import parse_located
from .._router import Router
from .._config.sources import read_path, read_text


class UsageError(Exception):
    """A command-line mistake: printed as `routecore: MESSAGE`, exit status 2."""


def read_config(arg: str):
    """The RawObjects of a configuration argument: a file or folder path, or `-` (stdin)."""
    if arg == "-":
        return read_text(sys.stdin.buffer.read(), "<stdin>")
    if not os.path.exists(arg):
        raise UsageError(f"no such file: {arg}")
    return read_path(pathlib.Path(arg))


def load_config(arg: str, **router_options) -> Router:
    """A Router on the configuration argument ``arg`` (raises ConfigError or UsageError)."""
    return Router(parse_located(read_config(arg)), **router_options)


def parent_arg(text: str):
    """Parse "NS/NAME[:PORT]" (NS optional, default "default") into (ns, name, port or None)."""
    port = None
    if ":" in text:
        text, _, port_text = text.rpartition(":")
        if not port_text.isdigit():
            raise argparse.ArgumentTypeError(f"port must be a number, got {port_text!r}")
        port = int(port_text)
    ns, _, name = text.rpartition("/")
    if not name:
        raise argparse.ArgumentTypeError("expected NAMESPACE/NAME[:PORT]")
    return ns or "default", name, port


def add_view_arguments(parser: argparse.ArgumentParser) -> None:
    """--gateway NS/NAME[:PORT] | --service NS/NAME:PORT, and --client-namespace."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--gateway", metavar="NS/NAME[:PORT]", type=parent_arg,
                       help="ingress: the Gateway and port (default 80) requests arrive at")
    where.add_argument("--service", metavar="NS/NAME:PORT", type=parent_arg,
                       help="mesh: the Service port requests are addressed to")
    parser.add_argument("--client-namespace", help="mesh: the namespace of the calling workload")


def view_selector(args) -> Callable[[Router], object]:
    """``select(router) -> view`` for the --gateway/--service of ``args`` (LookupError from the
    router when the configuration has no such parent)."""
    if args.service is not None:
        ns, name, port = args.service
        if port is None:
            raise UsageError("--service needs NS/NAME:PORT")
        client = args.client_namespace
        return lambda r: r.service(name, namespace=ns, port=port, client_namespace=client)
    if args.client_namespace is not None:
        raise UsageError("--client-namespace goes with --service")
    ns, name, port = args.gateway
    port = 80 if port is None else port
    return lambda r: r.gateway(name, namespace=ns, port=port)

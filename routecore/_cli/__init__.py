"""The `routecore` command line (``main``): ``args`` reads configuration arguments and the view
choice for every subcommand; ``check`` and ``diff`` are subcommands of their own."""
from .main import main

__all__ = ["main"]

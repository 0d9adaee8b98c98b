"""The ``safemap`` command line: thin commands that parse, call a service and print."""

from safemap.api.cli.group import main

__all__ = ["main"]

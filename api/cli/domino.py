"""Commands of issue 18 (domino)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

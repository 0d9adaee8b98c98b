"""Commands of issue 18 (tailings)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

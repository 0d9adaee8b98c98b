"""Commands of issue 18 (allocation)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

"""Commands of issue 18 (park)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

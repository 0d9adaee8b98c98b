"""Attribute tables and layers of the routing and dispatch work (vehicle profiles, dispatches, …).

Each entry is a :class:`~layers.catalogue.Layer`; attribute tables are seeded from a
CSV under ``data/``.
"""

from __future__ import annotations

from layers.catalogue import Layer

NETWORK_TABLES: tuple[Layer, ...] = ()

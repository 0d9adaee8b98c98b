"""Attribute tables of standards data (separation rules, GB 18218 tables, …).

Filled by the safety-distances work; each table is a :class:`~layers.catalogue.Layer`
without geometry, seeded from a CSV under ``data/standards/``.
"""

from __future__ import annotations

from layers.catalogue import Layer

STANDARDS_TABLES: tuple[Layer, ...] = ()

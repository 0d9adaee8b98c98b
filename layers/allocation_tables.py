"""Material allocation plans (物资分配方案, issue 18)."""

from __future__ import annotations

from safemap.layers.catalogue import Layer

ALLOCATION_TABLES: tuple[Layer, ...] = ()

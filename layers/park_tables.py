"""Layers of the industrial park and the mines (issue 18): experts."""

from __future__ import annotations

from safemap.layers.catalogue import Layer

PARK_LAYERS: tuple[Layer, ...] = ()

"""Where SafeMap's data files live (real county data, standards tables)."""

from __future__ import annotations

import os
from pathlib import Path

#: ``data/`` of the checkout; ``SAFEMAP_DATA_DIR`` points elsewhere (e.g. an installed copy).
DATA_DIR = Path(os.environ.get("SAFEMAP_DATA_DIR") or Path(__file__).resolve().parents[1] / "data")

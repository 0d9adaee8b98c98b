"""One APIRouter per area (layers, transfer, tiles, safety, coverage, route, dispatch, system, map)."""

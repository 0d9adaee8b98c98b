"""The web room: the FastAPI app factory, routers, OGC API, tiles, auth, errors, request models."""

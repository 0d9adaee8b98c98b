"""HOW people reach SafeMap: the FastAPI app, the ``safemap`` CLI, settings and authentication."""

"""The domain rules: each use case as plain Python over the store and gis; raises safemap.layers.errors."""

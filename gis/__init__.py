"""HOW SafeMap reasons: pure spatial analysis on GeoDataFrames and arrays (no I/O)."""

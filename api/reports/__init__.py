"""HTML, CSV and GeoJSON reports rendered from Jinja2 templates (no domain rules here)."""

"""The interactive map page (folium/Leaflet) and its vendored browser assets.

:func:`webmap.page.render_map` builds the page; :mod:`webmap.assets` says where its
static files live; ``python -m webmap.vendor`` installs the npm libraries it uses.
"""

"""Tool panels of the map page (site check, dispatch, coverage …), docked on the left.

Each panel is one script under ``webmap/static/panels/`` that calls
``SafeMap.registerPanel(name, build)``; ``build(container, state)`` fills the panel's
body when it is first opened and may return the panel's handle (``SafeMap.panel(name)``).
The page loads :data:`COMMON_SCRIPT` (escaping, formatting, option lists, run buttons)
and then the scripts of the panels listed here, in order, after the page's own scripts;
``SafeMap.api(path, options)`` calls the API with the user's token (entered once via the
令牌 button and kept in the browser), ``SafeMap.hooks`` lets a panel take map clicks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    """A tool panel: its name (``registerPanel`` key), Chinese title and static files."""

    name: str
    title: str
    script: str
    stylesheet: str | None = None


#: What the panels share, loaded before them.
COMMON_SCRIPT = "panels/common.js"

#: The panels on the page, in tab order.
PANELS: tuple[Panel, ...] = (
    Panel("planner", "选址核查", "panels/planner.js", "panels/planner.css"),
    Panel("incident", "事件处置", "panels/incident.js", "panels/incident.css"),
    Panel("dispatch", "应急调度", "panels/dispatch.js", "panels/dispatch.css"),
    Panel("coverage", "覆盖与通道", "panels/coverage.js", "panels/coverage.css"),
    Panel("wind", "主导风向", "panels/wind.js", "panels/wind.css"),
)

"""Tool panels of the map page (site check, dispatch, coverage …), docked on the left.

Each panel is a script under ``webmap/static/panels/`` that calls
``SafeMap.registerPanel(name, build)``; ``build(container, state)`` fills the panel's
body when it is first opened and may return the panel's handle (``SafeMap.panel(name)``).
A large panel is split into several scripts in a folder of its own (``panels/incident/``):
the earlier ones each add one part to a namespace of the panel's (``SafeMap.incidentParts``),
the last one registers the panel and puts the parts together.
The page loads :data:`COMMON_SCRIPT` (escaping, formatting, option lists, run buttons)
and then the scripts of the panels listed here, in order (a panel's own scripts in the
order given), after the page's own scripts;
``SafeMap.api(path, options)`` calls the API with the user's token (entered once via the
令牌 button and kept in the browser), ``SafeMap.hooks`` lets a panel take map clicks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    """A tool panel: its name (``registerPanel`` key), Chinese title and static files.

    ``scripts`` are loaded in the order given; the last one calls ``registerPanel``.
    """

    name: str
    title: str
    scripts: tuple[str, ...]
    stylesheet: str | None = None


#: What the panels share, loaded before them.
COMMON_SCRIPT = "panels/common.js"

#: The panels on the page, in tab order.
PANELS: tuple[Panel, ...] = (
    Panel("planner", "选址核查", ("panels/planner.js",), "panels/planner.css"),
    Panel(
        "incident",
        "事件处置",
        tuple(
            f"panels/incident/{part}.js"
            for part in ("shared", "list", "zone", "warn", "evacuate", "live", "main")  # main.js last
        ),
        "panels/incident.css",
    ),
    Panel(
        "live",
        "监测预警",
        # main.js last: it registers the panel from the parts before it.
        tuple(f"panels/live/{part}.js" for part in ("shared", "chart", "markers", "track", "alarms", "main")),
        "panels/live.css",
    ),
    Panel(
        "prevention",
        "双重预防",
        # main.js last: it registers the panel from the parts before it.
        tuple(
            f"panels/prevention/{part}.js"
            for part in (
                "shared",
                "queue",
                "list",
                "form",
                "detail",
                "stats",
                "enterprise",
                "indicators",
                "inspections",
                "main",  # main.js last
            )
        ),
        "panels/prevention.css",
    ),
    Panel("dispatch", "应急调度", ("panels/dispatch.js",), "panels/dispatch.css"),
    Panel("allocation", "物资调配", ("panels/allocation.js",), "panels/allocation.css"),
    Panel(
        "park",
        "园区与矿山",
        # main.js last: it builds the tabs from the parts before it.
        tuple(f"panels/park/{part}.js" for part in ("domino", "assess", "tailings", "main")),
        "panels/park.css",
    ),
    Panel("coverage", "覆盖与通道", ("panels/coverage.js",), "panels/coverage.css"),
    Panel("wind", "主导风向", ("panels/wind.js",), "panels/wind.css"),
    Panel("reporting", "数据上报", ("panels/reporting.js",), "panels/reporting.css"),
)

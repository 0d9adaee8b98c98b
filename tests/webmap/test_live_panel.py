"""The 监测预警 panel in headless Chromium: live sensors, an alarm raised by a device, acknowledged, a trend chart.

Open the panel: the sensors of GET /api/live are drawn. A gateway posts readings (device token)
that cross a demo sensor's 高报 set point: without a reload the marker turns to the alarm colour
and the alarm appears at the top of the list in Chinese (with 声音提示 on, it beeps). The duty
officer acknowledges it with a note; a click on the sensor opens its popup with the 24 h chart
(SVG: the series and the dashed set-point lines).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser

#: Screenshots of the open panel at three sizes, when SAFEMAP_SHOTS names a folder.
SHOTS = os.environ.get("SAFEMAP_SHOTS")
PANEL = "SafeMap.panel('live')"


@pytest.fixture
def county(demo_copy: FeatureStore) -> FeatureStore:
    """The test ingests readings and acknowledges alarms: it writes, so it gets its own copy."""
    return demo_copy


def _sensor_to_trip(live: dict[str, Any]) -> dict[str, Any]:
    """A demo sensor reporting normally (or not yet) with a 高报 set point below any 高高报."""
    for s in live["sensors"]:
        if s.get("high_1") is None or s["state"] not in ("normal", "silent"):
            continue
        if s.get("high_2") is None or s["high_2"] > s["high_1"]:
            return s
    raise AssertionError("no demo sensor with a 高报 set point")


def test_alarm_raised_live_acknowledged_and_charted(browser: Any, county: FeatureStore) -> None:
    app = app_for(county)
    app.state.events_poll_s = 0.2
    server = LiveServer(app)
    device = create_token(county, "园区网关", "device")
    duty = create_token(county, "值班员甲", "dispatcher")
    v = Visit(browser, server.url)
    try:
        v.js("t => SafeMap.setToken(t)", duty)
        v.page.click(".sm-dock-tab[data-panel=live]")
        v.page.wait_for_function(f"() => {PANEL} && {PANEL}.state.loaded")
        live = v.page.request.get(server.url + "api/live").json()
        assert live["sensors"], "the demo county has sensors"
        drawn = v.js(f"() => Object.keys({PANEL}.state.sensors).length")
        assert drawn == len(live["sensors"])
        assert v.js(f"() => {PANEL}.layers.sensors.getLayers().length") == len(live["sensors"])
        assert "传感器 " + str(len(live["sensors"])) + " 个" in v.page.inner_text(".sm-lv-counts")
        assert "正常" in v.page.inner_text(".sm-lv-legend")
        sensor = _sensor_to_trip(live)
        sid, high_1 = sensor["id"], float(sensor["high_1"])
        high_2 = sensor.get("high_2")
        above = high_1 + (float(high_2) - high_1) / 2 if high_2 is not None else high_1 * 1.2 + 1
        v.page.check(".sm-lv-soundbox")  # 声音提示: off by default, one beep when turned on
        beeps = v.js("() => SafeMap.liveParts.shared.audio.count")

        # A gateway reports: normal, then over 高报 (the device token may do nothing else).
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        readings = [
            {"sensor": sensor["code"], "ts": (now - dt.timedelta(minutes=m)).isoformat(), "value": value}
            for m, value in ((3, high_1 * 0.3), (2, above), (1, above))
        ]
        posted = v.page.request.post(
            server.url + "api/readings",
            data={"readings": readings},
            headers={"Authorization": f"Bearer {device}"},
        )
        assert posted.status == 200, posted.text()
        assert posted.json()["accepted"] == 3 and posted.json()["rejected"] == []

        # Without a reload: the marker recoloured from sensor_live, the alarm listed from the alarms event.
        v.page.wait_for_function(f"id => {PANEL}.state.sensors[id].item.state === 'high_1'", arg=sid, timeout=20_000)
        v.page.wait_for_function(
            f"id => {PANEL}.state.alarms.some(f => f.properties.sensor_id === id && f.properties.state === 'active')",
            arg=sid,
            timeout=20_000,
        )
        alarm = int(v.js(f"id => {PANEL}.state.alarms.find(f => f.properties.sensor_id === id).id", sid))
        row = v.page.locator(f".sm-lv-alarm[data-id='{alarm}']")
        text = row.inner_text()
        assert "一级报警（高报）" in text and (sensor["name"] or sensor["code"]) in text
        assert "high_1" not in text and "active" not in text  # labels, never codes
        assert v.js("() => document.querySelector('.sm-lv-alarm').dataset.id") == str(alarm)  # newest first
        assert v.js("() => SafeMap.liveParts.shared.audio.count") > beeps  # the new alarm beeped
        color = v.js(f"id => {PANEL}.state.sensors[id].marker.options.fillColor", sid)
        assert color == v.js("() => SafeMap.enumColor('sensor_state', 'high_1')")

        # A click on the alarm zooms to the sensor and flashes it.
        row.locator(".sm-lv-aobj").click()
        v.page.wait_for_function(f"() => {PANEL}.state.flashed && {PANEL}.state.flashed.marker")
        if SHOTS:
            _screenshots(v, Path(SHOTS))

        # 确认 asks for a note; the list shows the acknowledged alarm from the server's record.
        v.page.once("dialog", lambda d: d.accept("已电话核实，现场检修"))
        row.locator(".sm-lv-ack").click()
        v.page.wait_for_selector(f".sm-lv-alarm[data-id='{alarm}'][data-state=acknowledged]", timeout=20_000)
        assert "已确认" in v.page.inner_text(f".sm-lv-alarm[data-id='{alarm}']")
        assert v.page.locator(f".sm-lv-alarm[data-id='{alarm}'] .sm-lv-ack").count() == 0

        # The sensor's popup: its facts and the 24 h chart as SVG, with the 高报 line.
        x, y = v.js(
            """id => {
              const m = SafeMap.state.map, ll = SafeMap.panel('live').state.sensors[id].marker.getLatLng();
              m.setView(ll, 18, {animate: false});  // the detectors of one plant stand metres apart
              const p = m.latLngToContainerPoint(ll), r = m.getContainer().getBoundingClientRect();
              return [r.left + p.x, r.top + p.y];
            }""",
            sid,
        )
        v.painted()
        v.page.mouse.click(x, y)
        popup = v.popup_shown()
        assert sensor["name"] in popup.inner_text()
        v.page.wait_for_selector(".leaflet-popup .sm-lv-chart svg path.sm-lv-series", timeout=20_000)
        facts = popup.inner_text()
        assert "一级报警（高报）" in facts and "近24小时趋势" in facts
        assert v.page.locator(".leaflet-popup .sm-lv-chart svg line.sm-lv-th").count() >= 1
        assert "高报" in (v.page.text_content(".leaflet-popup .sm-lv-chart svg") or "")
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()
        server.wait_idle()
        server.stop()


def _screenshots(v: Visit, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for w, h in ((1600, 1000), (1366, 768), (390, 844)):
        v.page.set_viewport_size({"width": w, "height": h})
        v.js("() => SafeMap.openPanel('live')")
        v.painted()
        v.page.screenshot(path=str(folder / f"live-panel-{w}x{h}.png"))
    v.page.set_viewport_size({"width": 1600, "height": 900})
    v.js("() => SafeMap.openPanel('live')")

"""The 双重预防 panel in headless Chromium: hidden dangers from the phone to 待复查.

An inspector lists the findings, records one on a 390×844 phone with a photo taken by the
camera input, records one offline (kept on the phone as 待发送, sent exactly once when the
network is back), and moves a finding through 开始整改 and 提交复查 with an evidence photo,
with the server's refusals (422, 409) shown in place in Chinese.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path
from typing import Any

import pytest

from safemap.api.services import dangers
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser

#: Screenshots of the open panel, when SAFEMAP_SHOTS names a folder (prevention-WxH.png).
SHOTS = os.environ.get("SAFEMAP_SHOTS")
WHERE = (82.985, 46.205)  # in the demo county
INSPECTOR = Actor("检查员甲", "inspector")
OPENED = "() => { const p = SafeMap.panel('prevention'); return !!(p && p.state.listed); }"


@pytest.fixture
def county(demo_copy: FeatureStore) -> FeatureStore:
    """The tests record findings: each gets its own copy of the demo county."""
    return demo_copy


def _jpeg(path: Path, colour: tuple[int, int, int] = (200, 40, 40)) -> Path:
    """A tiny real JPEG (what a phone's camera input hands over, only smaller)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 12), colour).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def _finding(store: FeatureStore, description: str, grade: str = "general") -> int:
    deadline = (dangers.today(store) + dt.timedelta(days=20)).isoformat()
    data = dangers.FindingInput(grade=grade, description=description, deadline=deadline, location=WHERE)
    feature, _ = dangers.create_finding(store, data, INSPECTOR)
    return int(feature["id"])


def _count(store: FeatureStore, description: str) -> int:
    rows = store.query("hidden_dangers", filters={"description": [description]}, limit=None, count=False).rows
    return len(rows)


def _photos(store: FeatureStore, danger_id: int, stage: str) -> int:
    rows = store.query("danger_photos", filters={"danger_id": [danger_id]}, limit=None, count=False).rows
    return sum(1 for r in rows if r["stage"] == stage)


def _open(visit: Visit, token: str) -> None:
    visit.js("t => SafeMap.setToken(t)", token)
    visit.js("() => SafeMap.openPanel('prevention')")
    visit.page.wait_for_function(OPENED, timeout=20_000)


def _fill_new(visit: Visit, description: str) -> None:
    """Fill the 登记隐患 form: the first enterprise gives the position."""
    page = visit.page
    page.click(".sm-pv-tabbtn[data-tab=new]")
    page.fill(".sm-pv-new textarea[name=description]", description)
    first = page.eval_on_selector(".sm-pv-new select[name=enterprise_id]", "s => s.options[1] && s.options[1].value")
    assert first, "the demo county offers enterprises"
    page.select_option(".sm-pv-new select[name=enterprise_id]", first)
    page.fill(".sm-pv-new input[name=responsible]", "张主任")


def test_list_and_record_on_a_phone(browser: Any, county: FeatureStore, tmp_path: Path) -> None:
    seeded = _finding(county, "储罐区防火堤破损，未及时修补", "major")
    server = LiveServer(app_for(county))
    token = create_token(county, "检查员甲", "inspector")
    v = Visit(browser, server.url, size=(390, 844))
    try:
        _open(v, token)
        v.page.wait_for_selector(f".sm-pv-item[data-id='{seeded}']")
        assert "储罐区防火堤破损" in v.page.inner_text(".sm-pv-list")
        assert "重大隐患" in v.page.inner_text(f".sm-pv-item[data-id='{seeded}']")
        assert v.js("() => SafeMap.panel('prevention').layers.dangers.getLayers().length") >= 1

        # 登记 on the phone: a clause from a checklist, the position tapped on the map, a photo from the camera.
        page = v.page
        page.click(".sm-pv-tabbtn[data-tab=new]")
        assert page.get_attribute(".sm-pv-new input[name=photos]", "capture") == "environment"
        assert page.get_attribute(".sm-pv-new input[name=deadline]", "min")
        page.click(".sm-pv-new input[name=grade][value=general]")
        options = "s => [...s.options].map(o => o.value).filter(Boolean)"
        lists = page.eval_on_selector(".sm-pv-new select[name=checklist]", options)
        if lists:
            page.select_option(".sm-pv-new select[name=checklist]", lists[0])
            page.select_option(".sm-pv-new select[name=item]", "0")
            assert page.input_value(".sm-pv-new textarea[name=description]")
        page.fill(".sm-pv-new textarea[name=description]", "配电室门口堆放杂物，堵塞通道")
        page.click(".sm-pv-pick")
        v.js(
            "([lon, lat]) => { const m = SafeMap.state.map; m.setView([lat, lon], 15, {animate: false}); }",
            list(WHERE),
        )
        v.painted()
        box = v.js(
            "() => { const r = SafeMap.state.map.getContainer().getBoundingClientRect();"
            " return [r.left, r.top, r.width]; }"
        )
        page.mouse.click(box[0] + box[2] / 2, box[1] + 120)
        page.wait_for_function("() => !!SafeMap.panel('prevention').state.picked")
        assert "经度" in page.inner_text(".sm-pv-picked")
        page.fill(".sm-pv-new input[name=responsible]", "李班长")
        page.set_input_files(".sm-pv-new input[name=photos]", str(_jpeg(tmp_path / "found.jpg")))
        page.click(".sm-pv-submit")
        page.wait_for_selector(".sm-pv-formmsg .sm-pv-ok")
        assert _count(county, "配电室门口堆放杂物，堵塞通道") == 1
        page.click(".sm-pv-tabbtn[data-tab=list]")
        page.wait_for_selector(".sm-pv-list >> text=配电室门口堆放杂物")
        new_id = v.js(
            "() => SafeMap.panel('prevention').state.dangers"
            ".find(f => f.properties.description.startsWith('配电室')).id"
        )
        assert _photos(county, new_id, "found") == 1

        # Statistics per township and per industry.
        page.click(".sm-pv-tabbtn[data-tab=stats]")
        page.wait_for_selector(".sm-pv-stable")
        assert "合计" in page.inner_text(".sm-pv-stable")
        page.click(".sm-pv-statsby input[value=industry]")
        page.wait_for_selector(".sm-pv-stable >> text=行业")

        if SHOTS:
            _screenshots(browser, server.url, token, new_id, Path(SHOTS), tmp_path)
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()
        server.wait_idle()
        server.stop()


def test_offline_queue_sends_exactly_once(browser: Any, county: FeatureStore, tmp_path: Path) -> None:
    server = LiveServer(app_for(county))
    token = create_token(county, "检查员乙", "inspector")
    v = Visit(browser, server.url, size=(390, 844))
    words = "消防通道被车辆占用（离线登记）"
    try:
        _open(v, token)
        _fill_new(v, words)
        v.page.set_input_files(".sm-pv-new input[name=photos]", str(_jpeg(tmp_path / "offline.jpg", (20, 90, 200))))
        v.context.set_offline(True)
        v.page.click(".sm-pv-submit")
        v.page.wait_for_selector(".sm-pv-qcount")
        assert "待发送 1" in v.page.inner_text(".sm-pv-queue")
        assert "已保存在本机" in v.page.inner_text(".sm-pv-formmsg")
        assert _count(county, words) == 0

        v.context.set_offline(False)  # the "online" event sends it
        v.page.wait_for_function("() => SafeMap.preventionQueue.list().length === 0", timeout=20_000)
        v.page.wait_for_selector(".sm-pv-queue", state="hidden")
        assert _count(county, words) == 1
        v.js("() => SafeMap.preventionQueue.flush().then(() => null)")  # nothing left to send again
        assert _count(county, words) == 1
        danger_id = county.query("hidden_dangers", filters={"description": [words]}, limit=1, count=False).rows[0]["id"]
        assert _photos(county, int(danger_id), "found") == 1
        v.page.click(".sm-pv-tabbtn[data-tab=list]")
        v.page.wait_for_selector(f".sm-pv-list >> text={words}")
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()
        server.wait_idle()
        server.stop()


def test_detail_actions_to_review(browser: Any, county: FeatureStore, tmp_path: Path) -> None:
    danger_id = _finding(county, "作业现场未设置警戒线")
    server = LiveServer(app_for(county))
    token = create_token(county, "检查员丙", "inspector")
    v = Visit(browser, server.url, size=(1366, 768))
    page = v.page
    try:
        _open(v, token)
        page.click(f".sm-pv-item[data-id='{danger_id}']")
        page.wait_for_selector(".sm-pv-act[data-action=rectify]")
        assert "作业现场未设置警戒线" in page.inner_text(".sm-pv-detail")

        # Someone else acted meanwhile: 409, said in Chinese, and the finding shown as it is now.
        dangers.transition(county, danger_id, "note", INSPECTOR, version=1, text="电话通知企业")
        page.click(".sm-pv-act[data-action=rectify]")
        page.click(".sm-pv-ago")
        page.wait_for_selector(".sm-pv-actmsg .sm-pv-error")
        assert "已被他人处理" in page.inner_text(".sm-pv-actmsg")
        page.wait_for_selector(".sm-pv-tl >> text=电话通知企业")

        page.click(".sm-pv-act[data-action=rectify]")
        page.click(".sm-pv-ago")
        page.wait_for_selector(".sm-pv-actmsg .sm-pv-ok")
        page.wait_for_selector(".sm-pv-act[data-action=submit]")
        assert "整改中" in page.inner_text(".sm-pv-facts")

        # 提交复查 without a photo of the work done: refused in place, the server's words.
        page.click(".sm-pv-act[data-action=submit]")
        page.fill(".sm-pv-ameasures", "已设置警戒线和警示牌")
        page.click(".sm-pv-ago")
        page.wait_for_selector(".sm-pv-actmsg .sm-pv-error")
        assert "整改" in page.inner_text(".sm-pv-actmsg") and "photo_ids" not in page.inner_text(".sm-pv-actmsg")
        page.set_input_files(".sm-pv-aphotos", str(_jpeg(tmp_path / "evidence.jpg", (30, 160, 60))))
        page.click(".sm-pv-ago")
        page.wait_for_selector(".sm-pv-actmsg .sm-pv-ok")
        assert "待复查" in page.inner_text(".sm-pv-facts")
        assert county.get("hidden_dangers", danger_id)["properties"]["status"] == "review"
        assert _photos(county, danger_id, "evidence") == 1
        page.wait_for_selector(".sm-pv-photos .sm-pv-thumb img[src^='blob:']")
        timeline = page.inner_text(".sm-pv-tl")
        assert "开始整改" in timeline and "提交复查" in timeline
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()
        server.wait_idle()
        server.stop()


def _screenshots(browser: Any, url: str, token: str, danger_id: int, folder: Path, tmp_path: Path) -> None:
    """The open panel at a desktop, a laptop and a phone size: list, detail, form, enterprise, indicators."""
    folder.mkdir(parents=True, exist_ok=True)
    for w, h in ((1600, 1000), (1366, 768), (390, 844)):
        v = Visit(browser, url, size=(w, h))
        try:
            _open(v, token)
            v.painted()
            v.page.screenshot(path=str(folder / f"prevention-list-{w}x{h}.png"))
            v.js("id => SafeMap.panel('prevention').select(id).then(() => null)", danger_id)
            v.page.wait_for_selector(".sm-pv-photos .sm-pv-thumb img[src^='blob:']")
            v.painted()
            v.page.screenshot(path=str(folder / f"prevention-detail-{w}x{h}.png"))
            v.page.click(".sm-pv-tabbtn[data-tab=new]")
            v.painted()
            v.page.screenshot(path=str(folder / f"prevention-form-{w}x{h}.png"))
            v.page.click(".sm-pv-tabbtn[data-tab=stats]")
            v.page.wait_for_selector(".sm-pv-stable")
            v.page.screenshot(path=str(folder / f"prevention-stats-{w}x{h}.png"))
            v.page.click(".sm-pv-tabbtn[data-tab=ent]")
            first = v.page.eval_on_selector(".sm-pv-ent", "s => s.options[1] && s.options[1].value")
            if first:
                v.page.select_option(".sm-pv-ent", first)
                v.page.wait_for_selector(".sm-pv-entbody .sm-pv-card")
            v.painted()
            v.page.screenshot(path=str(folder / f"prevention-enterprise-{w}x{h}.png"))
            v.page.click(".sm-pv-tabbtn[data-tab=ind]")
            v.page.wait_for_function("() => !document.querySelector('.sm-pv-inds').textContent.includes('加载中')")
            v.painted()
            v.page.screenshot(path=str(folder / f"prevention-indicators-{w}x{h}.png"))
        finally:
            v.close()


def test_indicators_and_the_density_overlay_from_the_demo(browser: Any, county: FeatureStore) -> None:
    """The 指标 tab shows the demo's 专栏1 table with Chinese states; the density overlay goes on and off."""
    server = LiveServer(app_for(county))
    token = create_token(county, "规划科", "planner")
    v = Visit(browser, server.url, size=(1366, 768))
    try:
        _open(v, token)
        page = v.page
        page.click(".sm-pv-tabbtn[data-tab=ind]")
        page.wait_for_selector(".sm-pv-itable")
        table = page.inner_text(".sm-pv-itable")
        assert "亿元GDP生产安全事故死亡率" in table and "工矿商贸就业人员十万人生产安全事故死亡率" in table
        assert "按进度" in table and "不适用" in table  # no coal mines in the demo county
        assert "on_track" not in table and "not_applicable" not in table
        page.click(".sm-pv-dtoggle")
        page.wait_for_selector(".leaflet-image-layer", state="attached", timeout=20_000)
        page.click(".sm-pv-dtoggle")
        page.wait_for_selector(".leaflet-image-layer", state="detached", timeout=10_000)
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()
        server.wait_idle()
        server.stop()

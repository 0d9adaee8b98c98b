"""The 检查任务 tab of the 双重预防 panel in headless Chromium.

An inspector creates a task (按企业, the first enterprise, a checklist), sees it listed as 待检查,
starts it (检查中), records a finding from it (登记隐患 with the task chosen: the finding carries
its inspection_id), is told in place when someone else changed the task meanwhile (409), and
completes it (已完成, finished_at set). A viewer's token cannot create one: the server's Chinese
403 is shown in the form. Labels are Chinese, never the codes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser

#: Screenshots of the tab, when SAFEMAP_SHOTS names a folder (tasks-WxH.png).
SHOTS = os.environ.get("SAFEMAP_SHOTS")
OPENED = "() => { const p = SafeMap.panel('prevention'); return !!(p && p.state.listed && p.state.tasksLoaded); }"
NAME = "浏览器测试：企业专项检查"
CODES = ("planned", "in_progress", "done", "enterprise", "township", "industry")


@pytest.fixture
def county(demo_copy: FeatureStore) -> FeatureStore:
    """The test writes tasks and findings: its own copy of the demo county."""
    return demo_copy


def _open_tasks(visit: Visit, token: str) -> None:
    visit.js("t => SafeMap.setToken(t)", token)
    visit.js("() => SafeMap.openPanel('prevention')")
    visit.page.wait_for_function(OPENED, timeout=20_000)
    visit.page.click(".sm-pv-tabbtn[data-tab=tasks]")
    visit.page.wait_for_selector(".sm-pv-tasks .sm-pv-task")


def _new_task_form(visit: Visit) -> dict[str, str]:
    """Open 新建任务 and fill it for the first enterprise and the first checklist."""
    page = visit.page
    if not page.eval_on_selector(".sm-pv-tnewsec", "d => d.open"):
        page.click(".sm-pv-tnewsec > summary")
    page.select_option(".sm-pv-tnew select[name=scope]", "enterprise")
    first = page.eval_on_selector(".sm-pv-tnew select[name=enterprise_id]", "s => s.options[1] && s.options[1].value")
    checklist = page.eval_on_selector(".sm-pv-tnew select[name=checklist]", "s => s.options[1] && s.options[1].value")
    assert first and checklist, "the demo county offers enterprises and checklists"
    page.select_option(".sm-pv-tnew select[name=enterprise_id]", first)
    page.select_option(".sm-pv-tnew select[name=checklist]", checklist)
    assert page.input_value(".sm-pv-tnew input[name=name]")  # a name is suggested
    page.fill(".sm-pv-tnew input[name=name]", NAME)
    return {"enterprise_id": first, "checklist": checklist}


def _task(store: FeatureStore, name: str) -> dict[str, Any] | None:
    rows = store.query("inspections", filters={"name": [name]}, limit=None, count=False).rows
    return dict(rows[0]) if rows else None


def _item(visit: Visit, task_id: int) -> str:
    return visit.page.inner_text(f".sm-pv-task[data-id='{task_id}']")


def test_inspector_runs_a_task_and_a_viewer_cannot_create(browser: Any, county: FeatureStore) -> None:
    server = LiveServer(app_for(county))
    token = create_token(county, "检查员甲", "inspector")
    viewer = create_token(county, "看板用户", "viewer")
    v = Visit(browser, server.url, size=(1366, 768))
    page = v.page
    try:
        _open_tasks(v, token)
        listed = page.inner_text(".sm-pv-tasks")
        assert not any(code in listed for code in CODES), listed
        today = v.js("() => SafeMap.preventionParts.shared.today()")
        page.wait_for_function("() => document.querySelector('.sm-pv-tnew input[name=inspector]').value === '检查员甲'")
        chosen = _new_task_form(v)
        assert page.input_value(".sm-pv-tnew input[name=planned_on]") == today
        page.click(".sm-pv-tsubmit")
        page.wait_for_selector(".sm-pv-tformmsg .sm-pv-ok")
        row = _task(county, NAME)
        assert row is not None
        task_id = int(row["id"])
        assert row["status"] == "planned" and row["scope"] == "enterprise"
        assert str(row["enterprise_id"]) == chosen["enterprise_id"] and row["checklist"] == chosen["checklist"]
        assert row["inspector"] == "检查员甲" and str(row["planned_on"]) == today

        page.wait_for_selector(f".sm-pv-task[data-id='{task_id}'][data-status=planned]")
        text = _item(v, task_id)
        assert "待检查" in text and "按企业" in text and chosen["checklist"] in text and today in text
        assert "发现隐患" in text and "0 条" in text
        assert not any(code in text for code in CODES), text

        # 开始检查
        page.click(f".sm-pv-task[data-id='{task_id}'] .sm-pv-tact[data-do=start]")
        page.wait_for_selector(f".sm-pv-task[data-id='{task_id}'][data-status=in_progress]")
        assert "检查中" in _item(v, task_id)
        assert county.get("inspections", task_id)["properties"]["status"] == "in_progress"

        # 登记隐患 from the task: the form with the task, its enterprise and its checklist chosen.
        page.click(f".sm-pv-task[data-id='{task_id}'] .sm-pv-tact[data-do=record]")
        page.wait_for_selector(".sm-pv-pane[data-tab=new]:not([hidden])")
        assert page.input_value(".sm-pv-new select[name=inspection_id]") == str(task_id)
        assert page.input_value(".sm-pv-new select[name=enterprise_id]") == chosen["enterprise_id"]
        assert page.input_value(".sm-pv-new select[name=checklist]") == chosen["checklist"]
        page.fill(".sm-pv-new textarea[name=description]", "检查任务中发现：安全出口指示灯损坏")
        page.fill(".sm-pv-new input[name=responsible]", "王主任")
        page.click(".sm-pv-submit")
        page.wait_for_selector(".sm-pv-formmsg .sm-pv-ok")
        found = county.query(
            "hidden_dangers", filters={"description": ["检查任务中发现：安全出口指示灯损坏"]}, limit=None, count=False
        ).rows
        assert len(found) == 1 and found[0]["inspection_id"] == task_id

        page.click(".sm-pv-tabbtn[data-tab=tasks]")
        page.wait_for_function(
            f"() => /发现隐患\\s*1 条/.test(document.querySelector(\".sm-pv-task[data-id='{task_id}']\").innerText)"
        )

        # Someone else changed the task meanwhile: 409 in place, in Chinese, and the list read again.
        version = county.get("inspections", task_id)["properties"]["version"]
        r = httpx.patch(
            f"{server.url}api/layers/inspections/{task_id}",
            json={"properties": {"inspector": "检查员甲、检查员乙", "version": version}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        page.click(f".sm-pv-task[data-id='{task_id}'] .sm-pv-tact[data-do=done]")
        page.wait_for_selector(f".sm-pv-task[data-id='{task_id}'] .sm-pv-tmsg .sm-pv-error[data-status='409']")
        page.wait_for_function(
            f"() => document.querySelector(\".sm-pv-task[data-id='{task_id}']\").innerText.includes('检查员乙')"
        )
        assert "已被修改" in page.inner_text(f".sm-pv-task[data-id='{task_id}'] .sm-pv-tmsg")
        assert county.get("inspections", task_id)["properties"]["status"] == "in_progress"

        # 完成, with the version read again.
        page.click(f".sm-pv-task[data-id='{task_id}'] .sm-pv-tact[data-do=done]")
        page.wait_for_selector(f".sm-pv-task[data-id='{task_id}'][data-status=done]")
        text = _item(v, task_id)
        assert "已完成" in text and "完成时间" in text
        props = county.get("inspections", task_id)["properties"]
        assert props["status"] == "done" and props["finished_at"] is not None
        # done tasks come after the open ones
        order = v.js("() => [...document.querySelectorAll('.sm-pv-task')].map(t => t.dataset.status)")
        assert order == sorted(order, key=lambda s: s == "done"), order
        # no longer offered to 登记隐患
        options = "s => [...s.options].map(o => o.value)"
        offered = page.eval_on_selector(".sm-pv-new select[name=inspection_id]", options)
        assert str(task_id) not in offered

        if SHOTS:
            _screenshots(browser, server.url, token, Path(SHOTS))
        assert v.errors == [] and v.blocked == [], (v.errors, v.blocked)
    finally:
        v.close()

    # A viewer may read the tasks but not create one: the server's words, in the form.
    w = Visit(browser, server.url, size=(390, 844))
    try:
        _open_tasks(w, viewer)
        _new_task_form(w)
        w.page.click(".sm-pv-tsubmit")
        w.page.wait_for_selector(".sm-pv-tformmsg .sm-pv-error[data-status='403']")
        said = w.page.inner_text(".sm-pv-tformmsg")
        assert "无权" in said and "检查任务" in said and "forbidden" not in said
        assert (
            _task(county, NAME) is not None
            and len(county.query("inspections", filters={"name": [NAME]}, limit=None, count=False).rows) == 1
        )
        assert w.errors == [] and w.blocked == [], (w.errors, w.blocked)
    finally:
        w.close()
        server.wait_idle()
        server.stop()


def _screenshots(browser: Any, url: str, token: str, folder: Path) -> None:
    """The 检查任务 tab at a laptop and a phone size."""
    folder.mkdir(parents=True, exist_ok=True)
    for w, h in ((1366, 768), (390, 844)):
        v = Visit(browser, url, size=(w, h))
        try:
            _open_tasks(v, token)
            v.painted()
            v.page.screenshot(path=str(folder / f"tasks-{w}x{h}.png"))
            if not v.page.eval_on_selector(".sm-pv-tnewsec", "d => d.open"):
                v.page.click(".sm-pv-tnewsec > summary")
            v.page.eval_on_selector(".sm-pv-tnewsec", "d => d.scrollIntoView()")
            v.painted()
            v.page.screenshot(path=str(folder / f"tasks-new-{w}x{h}.png"))
        finally:
            v.close()

"""Token expiry, token status, settings errors as one line, and a private store file (issue 10)."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from safemap.api.cli.group import main
from safemap.api.settings import SettingsInvalid, load_settings
from safemap.layers.errors import ValidationFailed
from safemap.layers.store import open_store
from safemap.layers.tokens import authenticate, create_token, list_tokens
from tests.support.cli import run


@pytest.mark.parametrize("days", ["0", "-1", "99999999999"])
def test_expiry_must_be_at_least_a_day(env: Path, days: str) -> None:
    code, out = run("token", "create", "--name", "张三", "--role", "planner", "--expires-days", days)
    assert code == 2 and "错误：--expires-days" in out and "sm_" not in out and "Traceback" not in out


def test_never_expiring_tokens_are_explicit(env: Path) -> None:
    code, out = run("token", "create", "--name", "设备甲", "--role", "viewer", "--never-expires")
    assert code == 0 and "sm_" in out and "永不过期" in out
    code, out = run("token", "create", "--name", "张三", "--role", "planner")
    assert code == 0 and "有效期 365 天" in out  # the default is finite
    code, out = run("token", "create", "--name", "李四", "--role", "planner", "--never-expires", "--expires-days", "3")
    assert code == 2 and "--never-expires" in out
    store = open_store(env)
    rows = {t["name"]: t for t in list_tokens(store)}
    store.close()
    assert rows["设备甲"]["expires_at"] is None
    assert rows["张三"]["expires_at"] - rows["张三"]["created_at"] == dt.timedelta(days=365)


def test_library_refuses_zero_and_negative_days(env: Path) -> None:
    store = open_store(env)
    try:
        for days in (0, -1, True):
            with pytest.raises(ValidationFailed, match="expires_days"):
                create_token(store, "张三", "planner", expires_days=days)
        assert list_tokens(store) == []
    finally:
        store.close()


def test_token_list_shows_status_in_chinese(env: Path) -> None:
    store = open_store(env)
    secret = create_token(store, "过期者", "viewer", expires_days=1)
    create_token(store, "有效者", "viewer", expires_days=30)
    with store.transaction() as tx:  # a day and a bit later
        t = tx.tokens_table
        past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        tx.execute(t.update().where(t.c.name == "过期者").values(expires_at=past))
    assert authenticate(store, secret) is None
    store.close()
    code, listing = run("token", "list")
    lines = {line.split()[1]: line for line in listing.splitlines()}
    assert code == 0 and "已过期" in lines["过期者"] and "有效" in lines["有效者"]
    assert run("token", "revoke", lines["有效者"].split()[0])[0] == 0
    assert "已吊销" in run("token", "list")[1]


def test_store_file_and_side_files_are_private(env: Path) -> None:
    store = open_store(env)
    create_token(store, "张三", "viewer", expires_days=1)  # a write: the -wal file exists
    try:
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{env}{suffix}")
            assert path.exists(), suffix
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, suffix
    finally:
        store.close()


@pytest.mark.parametrize("value", ["82.1,45.25,83.65,46.65", "[82.1, 45.25, 83.65, 46.65]", "82.1, 45.25,83.65 ,46.65"])
def test_extent_in_comma_and_json_form(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SAFEMAP_EXTENT", value)
    assert load_settings().extent == (82.1, 45.25, 83.65, 46.65)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SAFEMAP_EXTENT", "82.1,45.25,83.65"),
        ("SAFEMAP_EXTENT", "[82.1, 45.25"),
        ("SAFEMAP_EXTENT", "83.65,45.25,82.1,46.65"),
        ("SAFEMAP_PORT", "eighty"),
        ("SAFEMAP_TIMEZONE", "Mars/Olympus"),
        ("SAFEMAP_BASEMAP", "google"),
        ("SAFEMAP_DATABASE_URL", "postgresql://u:s3cret@host:port/db"),
    ],
)
def test_a_bad_setting_is_one_clear_line(env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsInvalid, match=name):
        load_settings()
    for command in (["token", "list"], ["serve"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"错误：设置 {name}"), result.output
        assert result.output.count("\n") == 1 and "Traceback" not in result.output
        assert "s3cret" not in result.output

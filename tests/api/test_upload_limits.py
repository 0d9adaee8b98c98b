"""Uploads: auth before the body, streamed under the store's folder, cleaned up, no server paths in errors."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safemap.api.http.app import create_app
from safemap.api.services import editing
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token

URL = "/api/layers/enterprises/import"
MB = 1024 * 1024


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def client(gpkg_store: FeatureStore, uploads: Path) -> Iterator[TestClient]:
    app = create_app(Settings(basemap="none", upload_dir=uploads, max_unzipped_bytes=2 * MB), store=gpkg_store)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def planner(gpkg_store: FeatureStore) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(gpkg_store, '规划员', 'planner')}"}


def _asgi_post(app: Any, headers: dict[str, str], body_size: int) -> tuple[int, int, bytes]:
    """POST a multipart body of ``body_size`` bytes in 64 KB chunks; (status, bytes the app read, body)."""
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    chunks = [head] + [b"x" * 65536] * (body_size // 65536) + [f"\r\n--{boundary}--\r\n".encode()]
    total = sum(map(len, chunks))
    read = 0
    sent: list[dict[str, Any]] = []
    pending = list(chunks)

    async def receive() -> dict[str, Any]:
        nonlocal read
        if not pending:
            await asyncio.sleep(3600)  # the client waits; the app must not need more
        chunk = pending.pop(0)
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "root_path": "",
        "query_string": b"",
        "server": ("test", 80),
        "client": ("test", 1234),
        "headers": [
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"content-length", str(total).encode()),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], read, body


@pytest.mark.parametrize("role", [None, "fire"])
def test_unauthorised_upload_refused_before_the_body_is_read(
    gpkg_store: FeatureStore, uploads: Path, role: str | None
) -> None:
    app = create_app(Settings(basemap="none", upload_dir=uploads), store=gpkg_store)
    headers = {} if role is None else {"Authorization": f"Bearer {create_token(gpkg_store, '消防员', role)}"}
    status, read, body = _asgi_post(app, headers, 150 * MB)
    assert status == (401 if role is None else 403)
    assert read == 0, f"{read} bytes of the body were read before the refusal"
    assert json.loads(body)["error"] in ("unauthorized", "forbidden")
    assert not uploads.exists() or not any(uploads.iterdir())


def test_upload_stored_next_to_the_geopackage_and_removed(
    gpkg_store: FeatureStore, planner: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Path] = []
    real = editing.import_features

    def spy(store: FeatureStore, layer: str, path: Path, *args: Any, **kw: Any) -> Any:
        seen.append(Path(path))
        assert Path(path).is_file()
        return real(store, layer, path, *args, **kw)

    monkeypatch.setattr(editing, "import_features", spy)
    app = create_app(Settings(basemap="none"), store=gpkg_store)
    with TestClient(app) as client:
        csv = "名称,经度,纬度\n加油站,82.98,46.20\n".encode()
        r = client.post(URL, files={"file": ("加油站.csv", csv, "text/csv")}, data={"dry_run": "true"}, headers=planner)
    assert r.status_code in (200, 422), r.text
    root = gpkg_store.backend.path.parent / "uploads"  # type: ignore[attr-defined]
    assert seen and seen[0].parent.parent == root and seen[0].name == "加油站.csv"
    assert not any(root.iterdir())


def _bad_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("roads.shp", b"not a shapefile" * 10)
        zf.writestr("roads.shx", b"junk")
        zf.writestr("roads.dbf", b"junk")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [("道路.zip", _bad_zip()), ("坏的.gpkg", b"SQLite format 3\0" + b"\0" * 2000), ("坏的.geojson", b"{oops")],
)
def test_import_errors_name_the_upload_not_the_server_folder(
    client: TestClient, planner: dict, uploads: Path, name: str, content: bytes
) -> None:
    r = client.post(URL, files={"file": (name, content, "application/octet-stream")}, headers=planner)
    assert r.status_code == 422, r.text
    assert str(uploads) not in r.text and "/vsizip/" not in r.text and "/tmp" not in r.text
    if not name.endswith(".geojson"):  # GDAL's messages name the upload itself
        assert Path(name).stem in r.text
    assert not any(uploads.iterdir())


def test_zip_bomb_upload_refused_with_the_limit_named(client: TestClient, planner: dict, uploads: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.shp", bytes(100))
        zf.writestr("bomb.shx", bytes(100))
        zf.writestr("bomb.dbf", b" " * (5 * MB))
    assert len(buf.getvalue()) < 100_000
    r = client.post(URL, files={"file": ("bomb.zip", buf.getvalue(), "application/zip")}, headers=planner)
    assert r.status_code == 413, r.text
    body = r.json()
    assert body["problems"][0]["field"] == "file" and "2 MB" in body["message"] and "上限" in body["message"]
    assert not any(uploads.iterdir())


def test_leftover_upload_folders_removed_at_start_up(gpkg_store: FeatureStore, uploads: Path) -> None:
    dead = uploads / f"999999999-{'0' * 32}"  # beyond pid_max: that process is gone
    live = uploads / f"1-{'1' * 32}"  # pid 1 runs: another server's upload in progress
    for folder in (dead, live):
        folder.mkdir(parents=True)
        (folder / "half.zip").write_bytes(b"PK")
    (uploads / "notes.txt").write_text("not ours")
    app = create_app(Settings(basemap="none", upload_dir=uploads), store=gpkg_store)
    with TestClient(app):
        assert not dead.exists()
        assert live.exists() and (uploads / "notes.txt").exists()


def test_openapi_documents_the_upload_form(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"][URL]["post"]["requestBody"]
    schema = body["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["file"]["format"] == "binary" and "dry_run" in schema["properties"]

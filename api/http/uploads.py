"""Uploaded files: streamed to disk under the store's ``uploads/`` folder, removed after use.

An import's multipart body is parsed here, chunk by chunk as it arrives, only after the
route has checked the token and role (FastAPI would read and spool the whole form to the
system temp folder before calling a handler that declares ``File``/``Form`` parameters).
The file goes to ``<root>/<pid>-<uuid>/<its own name>``; the route removes that folder
when the import ends, and :func:`clean_leftovers` removes those left by a server that
died mid-import when the app starts.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from safemap.api.http.errors import ApiError
from safemap.api.settings import Settings
from safemap.layers.errors import LayerError, Problem
from safemap.layers.store import FeatureStore

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32
_FOLDER = re.compile(r"^(\d+)-[0-9a-f]{32}$")


def upload_root(settings: Settings, store: FeatureStore) -> Path:
    """Where uploads are stored: the setting, else ``uploads/`` next to the GeoPackage (``var/``)."""
    if settings.upload_dir is not None:
        return Path(settings.upload_dir)
    gpkg = getattr(store.backend, "path", None)
    base = Path(gpkg).parent if gpkg is not None else Path(settings.gpkg_path).parent
    return base / "uploads"


def new_folder(root: Path) -> Path:
    """A fresh folder for one upload, named after this process (see :func:`clean_leftovers`)."""
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"{os.getpid()}-{uuid.uuid4().hex}"
    folder.mkdir(mode=0o700)
    return folder


def clean_leftovers(root: Path) -> list[Path]:
    """Remove the upload folders of processes that no longer run (a server killed mid-import).

    Folders of other live processes (other workers on the same store) are kept; anything
    else in ``root`` that is not an upload folder is left alone. Returns what was removed.
    """
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for child in root.iterdir():
        match = _FOLDER.match(child.name)
        if not match or not child.is_dir():
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and _alive(pid):
            continue
        shutil.rmtree(child, ignore_errors=True)
        removed.append(child)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid < 2**22  # exists, owned by someone else
    return True


def scrub(exc: LayerError, folder: Path) -> LayerError:
    """``exc`` with the upload folder's server path taken out of its messages (in place)."""
    paths = sorted({str(folder.resolve()), str(folder)}, key=len, reverse=True)

    def clean(text: str) -> str:
        for p in paths:
            text = text.replace(p + "/", "").replace(p, "")
        return text.replace("/vsizip/", "")

    exc.message = clean(exc.message)
    exc.args = (exc.message,)
    exc.problems = [Problem(p.field, clean(p.message), p.row) for p in exc.problems]
    return exc


@dataclass
class Upload:
    """What :func:`receive_form` stored: the file (under its own name) and the text fields."""

    path: Path | None = None
    filename: str = ""
    fields: dict[str, str] = field(default_factory=dict)


def safe_name(filename: str, suffixes: tuple[str, ...]) -> str:
    """The upload's own base name, without folders or control characters; 422 for another suffix."""
    base = re.sub(r"[\x00-\x1f\x7f]", "", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip() or "upload"
    stem, dot, suffix = base.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in suffixes:
        raise ApiError(
            422,
            "validation_failed",
            f"file: 不支持的文件类型 {suffix or '(无扩展名)'}；可用：{', '.join(suffixes)}",
            [Problem("file", f"不支持的文件类型 {suffix or '(无扩展名)'}；可用：{', '.join(suffixes)}")],
        )
    stem = stem.strip(". ") or "upload"
    return stem[:100] + suffix


async def receive_form(
    request: Request, folder: Path, *, max_bytes: int, suffixes: tuple[str, ...], file_field: str = "file"
) -> Upload:
    """Parse a ``multipart/form-data`` body as it streams in, writing the file into ``folder``.

    Raises
    ------
    ApiError
        415 for another content type, 422 for a malformed form, a refused file type or a
        field over 64 KB, 413 when the body exceeds ``max_bytes``.
    """
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise ApiError(415, "unsupported_media_type", "导入须以 multipart/form-data 上传文件（字段 file）")
    upload = Upload()
    state: dict[str, Any] = {"headers": {}, "name": None, "out": None, "buf": None, "parts": 0}
    header_name = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        state["parts"] += 1
        if state["parts"] > MAX_PARTS:
            raise _form_error(f"表单字段过多（上限 {MAX_PARTS} 个）")
        state["headers"], state["name"], state["out"], state["buf"] = {}, None, None, None

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        state["headers"][bytes(header_name).lower()] = bytes(header_value)
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        if name == file_field and b"filename" in disp:
            if upload.path is not None:
                raise _form_error("只能上传一个文件")
            upload.filename = disp[b"filename"].decode("utf-8", "replace")
            upload.path = folder / safe_name(upload.filename, suffixes)
            state["out"] = upload.path.open("wb")
        else:
            state["buf"] = bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        out: IO[bytes] | None = state["out"]
        if out is not None:
            out.write(data[start:end])
            return
        buf: bytearray = state["buf"]
        buf.extend(data[start:end])
        if len(buf) > MAX_FIELD_BYTES:
            raise _form_error(f"表单字段 {state['name']} 超过 64 KB")

    def on_part_end() -> None:
        if state["out"] is not None:
            state["out"].close()
            state["out"] = None
        elif state["name"]:
            upload.fields[state["name"]] = bytes(state["buf"]).decode("utf-8", "replace")

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise ApiError(413, "payload_too_large", f"请求体超过上限 {max_bytes // (1024 * 1024)} MB")
            parser.write(chunk)
        parser.finalize()
    except (ApiError, LayerError):
        raise
    except Exception as exc:  # python-multipart's parse errors
        raise _form_error(f"表单格式错误：{exc}") from None
    finally:
        if state["out"] is not None:
            state["out"].close()
    if upload.path is None:
        raise ApiError(422, "validation_failed", "file: 缺少上传文件", [Problem("file", "缺少上传文件（字段 file）")])
    return upload


def _form_error(reason: str) -> ApiError:
    return ApiError(422, "invalid_request", reason, [Problem("file", reason)])


def form_bool(fields: dict[str, str], name: str) -> bool:
    """A form field as a boolean (``true/false``, ``1/0``, ``on/off``, ``yes/no``); absent is false."""
    value = fields.get(name, "").strip().lower()
    if value in ("", "false", "0", "off", "no"):
        return False
    if value in ("true", "1", "on", "yes"):
        return True
    raise ApiError(422, "invalid_request", f"{name}: 应为 true 或 false", [Problem(name, "应为 true 或 false")])


__all__ = [
    "Upload",
    "clean_leftovers",
    "form_bool",
    "new_folder",
    "receive_form",
    "safe_name",
    "scrub",
    "upload_root",
]

"""Reading zipped ESRI Shapefiles (``.shp``/``.shx``/``.dbf``/``.prj``/``.cpg``) for import.

The members a layer needs are unpacked to a scratch folder with a counted copy, then read
by GDAL from disk. The count is what makes the caps hold: a zip may understate its
members' sizes in its directory, and Python's reader stops at the declared size and then
fails the CRC, so no member can unpack to more than was checked. dBASE text without a
``.cpg`` is sniffed: UTF-8 when it decodes as such, else GBK (GB 18030), the usual
encoding of shapefiles made by Chinese GIS software; the sniff reads only the header and
the first megabyte of records, however large the ``.dbf``.

Before anything is read, the zip's directory is checked against :class:`ZipLimits`: the
member count, each member's declared size and compression ratio, and their total size
(a zip bomb is refused with :class:`~layers.errors.TooLarge`), and member names that are
absolute or climb out with ``..`` (refused as invalid). Error messages name the zip by
its own file name (``display_name``), never the folder it was stored in.
"""

from __future__ import annotations

import codecs
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pyogrio
from pyproj import CRS

from safemap.layers.errors import Problem, TooLarge
from safemap.layers.readers import RawTable, add_child, choose, fail, from_frame, scrub_path

MIB = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    """How much a zip may unpack to (the API sizes these from its upload limit).

    Attributes
    ----------
    max_unzipped_bytes
        Largest total declared uncompressed size of the members.
    max_ratio
        Largest compression ratio (uncompressed / compressed) of a member that unpacks to
        more than ``ratio_floor`` bytes.
    ratio_floor
        Members up to this size are not ratio-checked (small text files compress well).
    max_members
        Largest number of members.
    scratch_dir
        Where the members read are unpacked (the API passes its upload folder, under the
        store's ``var/``); ``None``: the system's temporary folder.
    """

    max_unzipped_bytes: int = 1024 * MIB
    max_ratio: float = 100.0
    ratio_floor: int = 32 * MIB
    max_members: int = 1000
    scratch_dir: Path | None = None


def check_zip(zf: zipfile.ZipFile, limits: ZipLimits, display_name: str) -> None:
    """Refuse a zip whose directory declares too much, or members outside its root.

    Only the central directory is read. Raises :class:`~layers.errors.TooLarge` naming the
    limit exceeded, or :class:`~layers.errors.ValidationFailed` for an unsafe member name.
    """
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise _too_large(f"{display_name} 中有 {len(infos)} 个文件，超过上限 {limits.max_members} 个")
    total = 0
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
            raise fail(f"{display_name} 中的文件名 {name!r} 不安全（绝对路径或含 ..），已拒绝")
        total += info.file_size
        if total > limits.max_unzipped_bytes:
            raise _too_large(
                f"{display_name} 解压后超过上限 {_size(limits.max_unzipped_bytes)}（压缩包炸弹？），已拒绝"
            )
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise _too_large(
                f"{display_name} 中的 {PurePosixPath(name).name} 压缩比 {ratio:.0f}:1 超过上限 "
                f"{limits.max_ratio:.0f}:1（压缩包炸弹？），已拒绝"
            )


def _size(n: int) -> str:
    return f"{n / MIB:g} MB" if n >= MIB else f"{n} 字节"


def _too_large(reason: str) -> TooLarge:
    return TooLarge(f"file: {reason}", [Problem("file", reason)])


def read_shapefile_zip(
    path: Path,
    layer_name: str,
    child_names: Sequence[str],
    source_layer: str | None,
    *,
    limits: ZipLimits | None = None,
    display_name: str | None = None,
) -> RawTable:
    """Read the shapefile(s) of a zip: the members needed are unpacked (counted) and read by GDAL.

    Parameters
    ----------
    path
        The zip; shapefiles may sit in a folder inside it.
    layer_name
        SafeMap layer being imported.
    child_names
        The layer's child tables, looked for as ``<layer>__<child>.dbf``.
    source_layer
        Shapefile to read (name without ``.shp``). By default the only one, or, when
        there are several, those named ``<layer>`` or ``<layer>_<suffix>`` (SafeMap
        writes one per geometry type); rows are then numbered on through the files in
        name order.
    limits
        Caps on what the zip may unpack to (default :class:`ZipLimits`()).
    display_name
        The zip's name in messages (default ``path.name``).

    Returns
    -------
    RawTable
        ``crs`` is ``None`` when there is no ``.prj``. A ``.cpg`` names the text
        encoding; without one UTF-8 is detected, else GBK (GB 18030) is assumed.
        ``fields.txt`` (SafeMap's export) maps short field names back.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise fail("不是有效的 zip 文件（Shapefile 请将 .shp、.shx、.dbf、.prj、.cpg 打包为 zip）") from None
    shown = display_name or path.name
    with zf:
        check_zip(zf, limits or ZipLimits(), shown)
        members = [n for n in zf.namelist() if not n.endswith("/") and not n.startswith("__MACOSX/")]
        shps = sorted(n for n in members if n.lower().endswith(".shp"))
        if not shps:
            raise fail("zip 中没有 .shp 文件（Shapefile 须包含 .shp、.shx、.dbf，以及 .prj 坐标系文件）")
        chosen = _choose_shapefiles(shps, layer_name, source_layer)
        limits = limits or ZipLimits()
        scratch = Path(tempfile.mkdtemp(prefix=".unzip-", dir=limits.scratch_dir))
        try:
            return _read_members(zf, members, chosen, layer_name, child_names, scratch, limits, shown)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _read_members(
    zf: zipfile.ZipFile,
    members: list[str],
    chosen: list[str],
    layer_name: str,
    child_names: Sequence[str],
    scratch: Path,
    limits: ZipLimits,
    shown: str,
) -> RawTable:
    """Unpack what ``chosen`` and the child tables need into ``scratch`` and read it."""
    by_lower = {n.lower(): n for n in members}
    table_stems = {layer_name.lower(), *(PurePosixPath(m[:-4]).name.lower() for m in chosen)}
    children: dict[str, str] = {}
    for child in child_names:
        for n in members:
            p = PurePosixPath(n)
            prefix, _, suffix = p.stem.lower().rpartition("__")
            if p.suffix.lower() == ".dbf" and suffix == child and prefix in table_stems:
                children[child] = n
                break
    for member in chosen:
        for ext in (".shx", ".dbf"):
            if member[:-4].lower() + ext not in by_lower:
                raise fail(f"zip 中缺少 {PurePosixPath(member[:-4]).name}{ext}（Shapefile 须有 .shp、.shx、.dbf）")
    stems = {m[:-4].lower() for m in chosen} | {n[:-4].lower() for n in children.values()}
    wanted = [n for n in members if n.rpartition(".")[0].lower() in stems]
    _unpack(zf, wanted, scratch, limits, shown)
    raw = RawTable("shapefile", [], [], [], [])
    crs_seen: list[CRS | None] = []
    spans = []
    keys: list[Any] = []
    for member in chosen:
        stem = member[:-4]
        has_prj = stem.lower() + ".prj" in by_lower
        encoding = _encoding(zf, by_lower, stem, raw)
        frame = _read_unpacked(scratch, member, encoding, shown)
        part = from_frame("shapefile", frame)
        crs_seen.append(part.crs if has_prj else None)
        offset = len(raw.rows)
        spans.append(f"{PurePosixPath(member).name} 为第 {offset + 1}–{offset + len(part.rows)} 行")
        raw.columns += [c for c in part.columns if c not in raw.columns]
        raw.rows += [r + offset for r in part.rows]
        raw.records += part.records
        raw.geometries += part.geometries
        keys.extend(part.keys if part.keys is not None else [None] * len(part.rows))
    raw.keys = keys if any(k is not None for k in keys) else None
    if len(chosen) > 1:
        raw.warnings.append("读取了多个 Shapefile：" + "；".join(spans))
    if any(c != crs_seen[0] for c in crs_seen):
        raise fail("zip 中各 Shapefile 的坐标系（.prj）不一致")
    raw.crs = crs_seen[0]
    fields_txt = next((n for n in members if PurePosixPath(n).name.lower() == "fields.txt"), None)
    if fields_txt is not None:
        raw.short_names = parse_fields_txt(zf.read(fields_txt))
    for child, n in children.items():
        encoding = _encoding(zf, by_lower, n[:-4], raw)
        add_child(raw, child, _read_unpacked(scratch, n, encoding, shown), PurePosixPath(n).name)
    return raw


def _choose_shapefiles(shps: list[str], layer_name: str, source_layer: str | None) -> list[str]:
    stems = [PurePosixPath(s).stem for s in shps]
    if source_layer is not None or len(shps) == 1:
        return [shps[stems.index(choose(source_layer, layer_name, stems, stems, " Shapefile"))]]
    ours = [
        s
        for s, stem in zip(shps, stems, strict=True)
        if stem.lower() == layer_name.lower() or stem.lower().startswith(layer_name.lower() + "_")
    ]
    if not ours:
        listing = "、".join(stems)
        raise fail(f"zip 中有多个 Shapefile：{listing}；请指定要导入哪一个（source_layer）")
    return ours


def _unpack(zf: zipfile.ZipFile, names: list[str], dest: Path, limits: ZipLimits, shown: str) -> None:
    """Copy ``names`` out of ``zf`` into ``dest``, counting bytes against ``limits``.

    Member names were checked by :func:`check_zip` (no absolute paths, no ``..``). The
    total actually written is counted as it is copied, so a member whose directory entry
    understates its size is stopped at the limit (or by the CRC check) however it lies.
    """
    written = 0
    for name in names:
        target = dest.joinpath(*PurePosixPath(name.replace("\\", "/")).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zf.open(name) as src, open(target, "wb") as out:
                while chunk := src.read(MIB):
                    written += len(chunk)
                    if written > limits.max_unzipped_bytes:
                        raise _too_large(
                            f"{shown} 解压后超过上限 {_size(limits.max_unzipped_bytes)}（压缩包炸弹？），已拒绝"
                        )
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            what = "使用了不支持的压缩方式" if isinstance(exc, NotImplementedError) else "已损坏（校验失败）"
            raise fail(f"{shown} 中的 {PurePosixPath(name).name} {what}") from None


def _read_unpacked(scratch: Path, member: str, encoding: str | None, shown: str) -> Any:
    path = scratch.joinpath(*PurePosixPath(member.replace("\\", "/")).parts)
    if (encoding or _cpg_encoding(path)) == "UTF-8":
        trim_cut_utf8_names(path)
    try:
        return pyogrio.read_dataframe(path, encoding=encoding)
    except Exception as exc:  # GDAL errors; their text holds the server's path: name the upload instead
        reason = scrub_path(str(exc), path, f"{shown}/{member}")
        reason = reason.replace(str(scratch.resolve()), shown).replace(str(scratch), shown)
        raise fail(f"无法读取 {shown} 中的 {PurePosixPath(member).name}：{reason}") from None


def _sibling(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def _cpg_encoding(path: Path) -> str | None:
    """``UTF-8`` when the ``.cpg`` beside ``path`` names it, else ``None``."""
    cpg = _sibling(path, ".cpg")
    if cpg is None:
        return None
    text = cpg.read_bytes()[:64].decode("ascii", errors="ignore").strip().upper().replace("-", "")
    return "UTF-8" if text in ("UTF8", "65001") else None


def trim_cut_utf8_names(path: Path) -> None:
    """Drop the partial last character of UTF-8 field names cut at 10 bytes, in the ``.dbf`` beside ``path``.

    GDAL and ArcGIS cut a long name such as 统一社会信用代码 to 10 bytes, leaving one byte
    of the fourth character (``统一社`` and the byte 0xE4); GDAL then cannot read the file at all.
    The unpacked copy is mended in place (a name would not become a duplicate of another);
    the column then matches the field by its cut label (:mod:`layers.columns`).
    """
    dbf = _sibling(path, ".dbf")
    if dbf is None:
        return
    with open(dbf, "r+b") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return
        header_len = int.from_bytes(head[8:10], "little")
        descriptors = fh.read(max(header_len - 32, 0))
        offsets: list[int] = []
        for i in range(0, len(descriptors) - 31, 32):
            if descriptors[i] == 0x0D:  # end of the field descriptors
                break
            offsets.append(i)
        names = [descriptors[i : i + 11].split(b"\0")[0] for i in offsets]
        for i, name in zip(offsets, names, strict=True):
            try:
                name.decode("utf-8")
                continue
            except UnicodeDecodeError:
                pass
            decoder = codecs.getincrementaldecoder("utf-8")()
            try:
                text = decoder.decode(name, final=False)
            except UnicodeDecodeError:
                continue  # not merely cut: leave it to GDAL's message
            mended = text.encode("utf-8")
            if not mended or mended in names:
                continue
            fh.seek(32 + i)
            fh.write(mended.ljust(11, b"\0"))


def _encoding(zf: zipfile.ZipFile, by_lower: dict[str, str], stem: str, raw: RawTable) -> str | None:
    if stem.lower() + ".cpg" in by_lower:
        return None  # GDAL honours the .cpg
    dbf = by_lower.get(stem.lower() + ".dbf")
    if dbf is None:
        return None
    sniffed = sniff_dbf_member(zf, dbf)
    if sniffed == "GB18030":
        raw.warnings.append(
            f"{PurePosixPath(stem).name} 没有 .cpg 编码文件，且文字不是 UTF-8，已按 GBK（GB 18030）读取"
        )
    return sniffed


def sniff_dbf_member(zf: zipfile.ZipFile, member: str, sample: int = 1 << 20) -> str | None:
    """:func:`sniff_dbf_encoding` of a ``.dbf`` in a zip, reading at most its header and ``sample`` bytes."""
    with zf.open(member) as fh:
        head = fh.read(32)
        if len(head) < 32:
            return None
        header_len = int.from_bytes(head[8:10], "little")
        rest = fh.read(max(header_len - 32, 0) + sample)
    return sniff_dbf_encoding(head + rest, sample)


def sniff_dbf_encoding(dbf: bytes, sample: int = 1 << 20) -> str | None:
    """Guess the text encoding of a dBASE file that has no ``.cpg``.

    Returns
    -------
    str or None
        ``None`` when all text is ASCII (GDAL's default is then right), ``"UTF-8"`` when
        the field names and the first ``sample`` bytes of records decode as UTF-8, else
        ``"GB18030"`` (the superset of GBK used by Chinese GIS software).
    """
    if len(dbf) < 32:
        return None
    header_len = int.from_bytes(dbf[8:10], "little")
    names = [dbf[i : i + 11].split(b"\0")[0] for i in range(32, max(header_len - 1, 32), 32)]
    body = dbf[header_len : header_len + sample]
    if body.isascii() and all(n.isascii() for n in names):
        return None
    try:  # each name on its own: a name cut at 10 bytes may end in part of a character
        for chunk in (*names, body):
            codecs.getincrementaldecoder("utf-8")().decode(chunk, final=False)
    except UnicodeDecodeError:
        return "GB18030"
    return "UTF-8"


def parse_fields_txt(data: bytes) -> dict[str, dict[str, str]]:
    """Parse SafeMap's ``fields.txt``: table -> {short name: field name}."""
    out: dict[str, dict[str, str]] = {}
    text = data.decode("utf-8-sig", errors="replace")
    for line in text.splitlines():
        parts = line.split("\t")
        if line.startswith("#") or len(parts) < 3:
            continue
        out.setdefault(parts[0], {})[parts[1]] = parts[2]
    return out

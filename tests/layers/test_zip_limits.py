"""Zipped Shapefiles: zip bombs refused before unpacking, the encoding sniffed from a bounded sample."""

from __future__ import annotations

import threading
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from safemap.layers.errors import TooLarge, ValidationFailed
from safemap.layers.model import Actor
from safemap.layers.shapefiles import ZipLimits, read_shapefile_zip, sniff_dbf_member
from safemap.layers.store import FeatureStore
from safemap.layers.transfer import import_file

ACTOR = Actor("测试", "admin")
MB = 1024 * 1024
BOMB_MB = 200
RSS_BUDGET = 50 * MB


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def peak_rss_growth(fn: Callable[[], object]) -> int:
    """Bytes the process's resident set grew by, at its peak, while ``fn`` ran (VmRSS/VmHWM)."""
    base = _status_kb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False
    peak = [base]
    stop = threading.Event()

    def sample() -> None:  # in case VmHWM could not be reset
        while not stop.is_set():
            peak[0] = max(peak[0], _status_kb("VmRSS"))
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        fn()
    finally:
        stop.set()
        sampler.join()
    if reset:
        peak[0] = max(peak[0], _status_kb("VmHWM"))
    return (peak[0] - base) * 1024


def _dbf_header(records: int) -> bytes:
    """A dBASE III header with one 254-byte text field ``NAME``."""
    header_len, record_len = 32 + 32 + 1, 1 + 254
    head = bytes([3, 124, 1, 1]) + records.to_bytes(4, "little")
    head += header_len.to_bytes(2, "little") + record_len.to_bytes(2, "little") + bytes(20)
    field = b"NAME".ljust(11, b"\0") + b"C" + bytes(4) + bytes([254, 0]) + bytes(14)
    return head + field + b"\r"


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A zipped shapefile whose .dbf (200 MB of spaces) deflates to about 200 KB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    records = BOMB_MB * MB // 255
    chunk = b" " * (255 * 4096)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.shp", bytes(100))
        zf.writestr("bomb.shx", bytes(100))
        with zf.open("bomb.dbf", "w", force_zip64=True) as fh:
            fh.write(_dbf_header(records))
            left = records
            while left > 0:
                n = min(left, 4096)
                fh.write(chunk[: n * 255])
                left -= n
    assert path.stat().st_size < 2 * MB
    return path


def test_bomb_refused_by_unzipped_size_before_reading(bomb: Path, gpkg_store: FeatureStore) -> None:
    limits = ZipLimits(max_unzipped_bytes=50 * MB, max_ratio=1e9)
    caught: list[TooLarge] = []

    def run() -> None:
        with pytest.raises(TooLarge) as info:
            import_file(gpkg_store, "enterprises", bomb, ACTOR, zip_limits=limits)
        caught.append(info.value)

    growth = peak_rss_growth(run)
    print(f"\nRSS growth around the refused {BOMB_MB} MB bomb: {growth / MB:.1f} MB")
    exc = caught[0]
    assert exc.status == 413 and exc.problems[0].field == "file"
    assert "50 MB" in exc.message and "bomb.zip" in exc.message and "上限" in exc.message
    assert str(bomb.parent) not in exc.message
    assert growth < RSS_BUDGET


def test_bomb_refused_by_compression_ratio(bomb: Path) -> None:
    with pytest.raises(TooLarge) as info:
        read_shapefile_zip(bomb, "enterprises", [], None, limits=ZipLimits(max_unzipped_bytes=10**12))
    assert "压缩比" in info.value.message and "100:1" in info.value.message


def test_encoding_sniff_reads_a_bounded_sample(bomb: Path) -> None:
    result: list[str | None] = []
    with zipfile.ZipFile(bomb) as zf:
        growth = peak_rss_growth(lambda: result.append(sniff_dbf_member(zf, "bomb.dbf")))
    print(f"\nRSS growth sniffing the {BOMB_MB} MB .dbf: {growth / MB:.1f} MB")
    assert result == [None]  # all ASCII
    assert growth < RSS_BUDGET


def test_member_count_bomb_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(1001):
            zf.writestr(f"f{i}.txt", b"")
    with pytest.raises(TooLarge) as info:
        read_shapefile_zip(path, "enterprises", [], None)
    assert "1000" in info.value.message


@pytest.mark.parametrize("member", ["../evil.shp", "/abs/evil.shp", "a/../../evil.shp", "C:/evil.shp"])
def test_unsafe_member_names_refused(tmp_path: Path, member: str) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, bytes(100))
    with pytest.raises(ValidationFailed) as info:
        read_shapefile_zip(path, "enterprises", [], None)
    assert "不安全" in info.value.message


def _gbk_lanes(tmp_path: Path, *, cpg: bool) -> Path:
    folder = tmp_path / f"shp{cpg}"
    folder.mkdir()
    frame = gpd.GeoDataFrame(
        {"name": ["园区消防车道"], "width_m": [4.0]},
        geometry=[shapely.LineString([(83.0, 46.2), (83.001, 46.2)])],
        crs="EPSG:4326",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pyogrio.write_dataframe(frame, folder / "消防车道.shp", encoding="GBK")
    if not cpg:
        (folder / "消防车道.cpg").unlink()
    path = tmp_path / f"lanes{cpg}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    return path


@pytest.mark.parametrize("cpg", [True, False])
def test_gbk_shapefile_still_imports(gpkg_store: FeatureStore, tmp_path: Path, cpg: bool) -> None:
    report = import_file(gpkg_store, "fire_lanes", _gbk_lanes(tmp_path, cpg=cpg), ACTOR)
    assert report.count == 1
    assert any("GBK" in w for w in report.warnings) == (not cpg)
    assert gpkg_store.get("fire_lanes", report.ids[0])["properties"]["name"] == "园区消防车道"


def test_gdal_error_names_the_zip_not_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "server-secret-folder"
    folder.mkdir()
    path = folder / "x.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("roads.shp", b"not a shapefile at all" * 10)
        zf.writestr("roads.shx", b"junk")
        zf.writestr("roads.dbf", b"junk")
    with pytest.raises(ValidationFailed) as info:
        read_shapefile_zip(path, "enterprises", [], None, display_name="道路.zip")
    text = info.value.message + " ".join(p.message for p in info.value.problems)
    assert "server-secret-folder" not in text and "/vsizip/" not in text and str(tmp_path) not in text
    assert "道路.zip" in text and "roads.shp" in text


def _understate(path: Path, member: str, declared: int, *, crc_of: bytes | None = None) -> None:
    """Rewrite ``member``'s uncompressed size (and optionally its CRC) in both zip headers to lie."""
    import struct
    import zlib

    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    local = info.header_offset
    central = data.index(b"PK\x01\x02", local)
    while data[central + 46 : central + 46 + len(member)] != member.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, local + 22, declared)
    struct.pack_into("<I", data, central + 24, declared)
    if crc_of is not None:
        crc = zlib.crc32(crc_of)
        struct.pack_into("<I", data, local + 14, crc)
        struct.pack_into("<I", data, central + 16, crc)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("crc", ["wrong", "matching the declared bytes"])
def test_a_zip_that_understates_its_sizes_unpacks_no_more_than_it_declares(tmp_path: Path, crc: str) -> None:
    """The directory says the .dbf is 4 KB; it holds 60 MB. Unpacking is counted, so the lie costs nothing.

    Before, GDAL's ``/vsizip/`` read the member by its compressed stream, not by the size
    the caps were checked against. Now members are copied out with Python's reader, which
    stops at the declared size (a wrong CRC is then a 422, a right one leaves a short file
    GDAL cannot read as 60 MB).
    """
    path = tmp_path / "liar.zip"
    records = 60 * MB // 255
    body = _dbf_header(records) + b" " * (records * 255)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("liar.shp", bytes(100))
        zf.writestr("liar.shx", bytes(100))
        zf.writestr("liar.dbf", body)
    declared = 4096
    _understate(path, "liar.dbf", declared, crc_of=body[:declared] if crc != "wrong" else None)
    del body
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    limits = ZipLimits(max_unzipped_bytes=1 * MB, max_ratio=1e9, scratch_dir=scratch)
    caught: list[Exception] = []

    def run() -> None:
        with pytest.raises((ValidationFailed, TooLarge)) as info:
            read_shapefile_zip(path, "enterprises", [], None, limits=limits)
        caught.append(info.value)

    growth = peak_rss_growth(run)
    print(f"\nRSS growth around a zip understating a 60 MB member ({crc} CRC): {growth / MB:.1f} MB")
    assert growth < RSS_BUDGET
    assert caught[0].problems[0].field == "file"
    assert str(tmp_path) not in caught[0].message
    assert list(scratch.iterdir()) == []  # the scratch folder is removed whatever happens

"""What every ``safemap`` command shares: the configured store, the CLI actor, errors and output.

Commands stay thin — parse, call a service, print — and use only these helpers for the rest:

* :func:`configured_store` opens the store the settings select and closes it; a
  :class:`~safemap.layers.errors.LayerError` raised inside becomes a Chinese message on
  stderr and exit code 2 (never a traceback);
* :class:`BadInput` is the same for an argument the command itself finds wrong;
* :func:`write_output` prints or saves a report, :func:`dumps` is the JSON of every command.
"""

from __future__ import annotations

import getpass
import json
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn

import click

from safemap.api.settings import Settings, SettingsInvalid, load_settings, open_configured_store
from safemap.layers.errors import LayerError
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore

#: Exit code of a refused input or a failed write.
EXIT_BAD_INPUT = 2
#: Most problems listed under an error message.
MAX_PROBLEMS = 50


class BadInput(click.ClickException):
    """An argument the command cannot use: printed as ``错误：<param>：<message>``, exit code 2."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(f"{param}：{message}" if param else message)

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the message in Chinese (click's own framing is English)."""
        click.secho(f"错误：{self.format_message()}", fg="red", err=True, file=file)


def settings() -> Settings:
    """The deployment's settings (``SAFEMAP_*`` variables, ``.env``); a bad value is one line and exit code 2."""
    try:
        return load_settings()
    except SettingsInvalid as exc:
        raise BadInput(str(exc)) from None


def cli_actor(name: str | None = None) -> Actor:
    """The actor of a CLI command: it runs on the server, with access to the store, as admin."""
    return Actor(name or f"cli:{getpass.getuser()}", "admin")


def fail(exc: LayerError) -> NoReturn:
    """Print ``exc`` and its problems (row, field, message) on stderr and exit with code 2."""
    click.secho(f"错误：{exc.message}", fg="red", err=True)
    for p in exc.problems[:MAX_PROBLEMS]:
        row = f"第 {p.row} 行 " if p.row is not None else ""
        click.echo(f"  {row}{p.field}: {p.message}", err=True)
    if len(exc.problems) > MAX_PROBLEMS:
        click.echo(f"  …另有 {len(exc.problems) - MAX_PROBLEMS} 处问题", err=True)
    sys.exit(EXIT_BAD_INPUT)


@contextmanager
def configured_store(config: Settings | None = None) -> Iterator[FeatureStore]:
    """Open the configured store for one command; close it after, turning layer errors into :func:`fail`.

    Parameters
    ----------
    config
        Settings to use (default: read them now).
    """
    from sqlalchemy.exc import SQLAlchemyError

    config = config or settings()
    try:
        store = open_configured_store(config)
    except LayerError as exc:
        fail(exc)
    except (OSError, SQLAlchemyError) as exc:
        reason = getattr(exc, "orig", None) or getattr(exc, "strerror", None) or exc
        raise BadInput(f"无法打开数据库 {_target(config)}：{reason}") from None
    try:
        yield store
    except LayerError as exc:
        fail(exc)
    finally:
        store.close()


def _target(config: Settings) -> str:
    """The store the settings select, without the password of a database URL."""
    if not config.database_url:
        return str(config.gpkg_path)
    from sqlalchemy.engine import make_url

    try:
        return make_url(config.database_url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: say which setting, not its value
        return "SAFEMAP_DATABASE_URL"


def write_output(data: str | bytes, output: Path | None) -> None:
    """Print ``data`` or save it to ``output`` (UTF-8; a ``.csv`` file gets a BOM for Excel).

    Raises
    ------
    BadInput
        Binary data without ``output``, or the file cannot be written.
    """
    if output is None:
        if isinstance(data, bytes):
            raise BadInput("二进制结果须用 -o 指定输出文件", "-o/--output")
        click.echo(data, nl=not data.endswith("\n"))
        return
    if isinstance(data, str):
        if output.suffix.lower() == ".csv" and not data.startswith("\ufeff"):
            data = "\ufeff" + data
        data = data.encode("utf-8")
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise BadInput(f"无法写入 {output}：{exc.strerror or exc}", "-o/--output") from None
    click.echo(f"已写入 {output}", err=True)


def json_default(value: Any) -> Any:
    """JSON form of what :mod:`json` cannot write: NumPy scalars as numbers, the rest as text."""
    return value.item() if hasattr(value, "item") else str(value)


def iso_default(value: Any) -> str:
    """JSON form of dates and times (ISO 8601); the rest as text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def dumps(obj: Any, *, indent: int | None = 1) -> str:
    """JSON of a command's answer: Chinese kept as is, NumPy values as numbers."""
    return json.dumps(obj, ensure_ascii=False, indent=indent, default=json_default)


def parse_bbox(text: str | None, param: str = "--bbox") -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` as four floats (``None`` when not given)."""
    if not text:
        return None
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
        raise BadInput(f"应为 最小经度,最小纬度,最大经度,最大纬度（例如 82.9,46.1,83.1,46.3），收到 {text!r}", param)
    return box  # type: ignore[return-value]


def parse_lonlat(text: str, param: str) -> tuple[float, float]:
    """``lon,lat`` as two floats in range (full-width digits and comma as typed with a Chinese IME too)."""
    try:
        lon, lat = (float(v) for v in unicodedata.normalize("NFKC", text).split(","))
    except ValueError:
        raise BadInput(f"应为 经度,纬度（例如 82.98,46.20），收到 {text!r}", param) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadInput(f"经纬度超出范围：{text}", param)
    return lon, lat


def features_of(frame: Any) -> list[dict[str, Any]]:
    """GeoJSON features of a GeoDataFrame in lon/lat (properties as plain records)."""
    from shapely.geometry import mapping

    props = frame.drop(columns="geometry").to_dict("records")
    return [
        {"type": "Feature", "geometry": mapping(geom), "properties": row}
        for row, geom in zip(props, frame.geometry, strict=True)
    ]


def grade_store(store: FeatureStore, actor: Actor | None = None) -> dict[str, Any]:
    """Recompute and store GB 18218 S, R, grade and exposed population of every hazard source.

    Returns the counts ``graded``, ``changed``, ``major`` and the per-source results of
    :func:`safemap.api.services.safety.recompute_grades`.
    """
    from safemap.api.services.safety import recompute_grades
    from safemap.layers.model import SYSTEM

    return recompute_grades(store, actor or SYSTEM)


__all__ = [
    "EXIT_BAD_INPUT",
    "BadInput",
    "cli_actor",
    "configured_store",
    "dumps",
    "fail",
    "features_of",
    "grade_store",
    "iso_default",
    "json_default",
    "parse_bbox",
    "parse_lonlat",
    "settings",
    "write_output",
]

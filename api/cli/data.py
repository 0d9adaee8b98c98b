"""The data commands: ``safemap demo``, ``layers``, ``migrate``, ``import``, ``export``, ``token``, ``audit``.

Writes go through :mod:`safemap.api.services.editing`, so an import or the demo county
leaves derived values (GB 18218 grades, exposed population) current.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from safemap.api.cli.common import (
    BadInput,
    cli_actor,
    configured_store,
    iso_default,
    parse_bbox,
    settings,
)
from safemap.layers.catalogue import ROLE_LABELS, ROLES
from safemap.layers.labels import duration_text

#: Validity of a token made without ``--expires-days`` (``--never-expires`` for device tokens).
DEFAULT_TOKEN_DAYS = 365


@click.command()
@click.option("--seed", type=int, default=2021, show_default=True)
@click.option("--if-missing", is_flag=True, help="Do nothing when the store already holds features.")
@click.option("--force", is_flag=True, help="Embedded store only: delete it and build afresh.")
def demo(seed: int, if_missing: bool, force: bool) -> None:
    """Build the 裕民县 demo county into the configured store (graded per GB 18218)."""
    from safemap.api.services.editing import build_demo

    config = settings()
    if force:
        if config.database_url:
            raise BadInput("只能删除内置的 GeoPackage，不能删除 PostGIS 数据库", "--force")
        for suffix in ("", "-wal", "-shm"):
            Path(str(config.gpkg_path) + suffix).unlink(missing_ok=True)
    with configured_store(config) as store:
        # Reference tables seeded from data/ (standards, …) are not demo data.
        total = sum(n for name, n in store.counts().items() if store.layer(name).seed is None)
        if total:
            if if_missing:
                click.echo(f"数据库已有 {total} 个要素，保留现有数据（未重建演示数据）。")
                return
            raise BadInput(f"数据库已有 {total} 个要素；要重建演示数据请加 --force")
        started = time.perf_counter()
        counts = build_demo(store, seed=seed)
        click.echo(f"演示数据已生成（用时 {duration_text(time.perf_counter() - started)}）：")
        for layer, n in counts.items():
            click.echo(f"  {store.layer(layer).label:<10} {layer:<18} {n:>6}")
        hazards = store.to_geodataframe("hazard_sources")
        graded = int(hazards["s_value"].notna().sum())
        major = int(hazards["grade"].notna().sum())
        click.echo(f"GB 18218 分级：{graded} 个危险源，其中重大危险源 {major} 个")


@click.command("layers")
def list_layers() -> None:
    """List the layers with their feature counts."""
    with configured_store() as store:
        for name, n in store.counts().items():
            layer = store.layer(name)
            click.echo(f"{name:<18} {layer.label:<10} {layer.group:<8} {n:>7}")


@click.command()
def migrate() -> None:
    """Create or upgrade the store's schema in place (never drops data)."""
    from safemap.layers.migrations import SCHEMA_VERSION

    with configured_store() as store:
        before, backend = store.previous_version, store.backend.describe()
    click.echo(f"schema version {before} -> {SCHEMA_VERSION} ({backend})")


@click.command("import")
@click.argument("layer")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", default=None, help="CRS of the file when it does not say (e.g. EPSG:4490).")
@click.option("--gcj02", is_flag=True, help="Coordinates are GCJ-02 (Gaode/DataV); convert to WGS 84.")
@click.option("--source-layer", default=None, help="Layer inside a GeoPackage.")
@click.option("--lon", "lon_field", default=None, help="CSV longitude column.")
@click.option("--lat", "lat_field", default=None, help="CSV latitude column.")
@click.option("--sheet", default=None, help="Excel (.xlsx): sheet to read (default the first).")
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@click.option("--as", "as_name", default=None, help="Name recorded in the audit log.")
def import_(
    layer: str,
    file: Path,
    crs: str | None,
    gcj02: bool,
    source_layer: str | None,
    lon_field: str | None,
    lat_field: str | None,
    sheet: str | None,
    dry_run: bool,
    as_name: str | None,
) -> None:
    """Import FILE (GeoJSON, GeoPackage, zipped Shapefile, CSV/text, .xlsx, KML/KMZ) into LAYER — all or nothing."""
    from safemap.api.services.editing import import_features
    from safemap.api.settings import zip_limits

    config = settings()
    with configured_store(config) as store:
        report = import_features(
            store,
            layer,
            file,
            cli_actor(as_name),
            crs=crs,
            gcj02=gcj02,
            source_layer=source_layer,
            lon_field=lon_field,
            lat_field=lat_field,
            sheet=sheet,
            dry_run=dry_run,
            zip_limits=zip_limits(config),
        )
    verb = "校验通过（未写入）" if dry_run else "已导入"
    click.echo(f"{verb} {report.count} 个要素到 {layer}")
    for w in report.warnings:
        click.echo(f"  提示：{w}")


@click.command("export")
@click.argument("layer")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["geojson", "gpkg", "shp", "csv"]),
    default=None,
    help="Default: from the file suffix (.geojson, .gpkg, .zip, .csv).",
)
@click.option("--bbox", default=None, help="minlon,minlat,maxlon,maxlat")
@click.option("--where", "where", multiple=True, help="field=value filter, repeatable.")
def export(layer: str, file: Path, fmt: str | None, bbox: str | None, where: tuple[str, ...]) -> None:
    """Export LAYER to FILE."""
    from safemap.layers.filters import parse_filters
    from safemap.layers.transfer import export_layer

    box = parse_bbox(bbox)
    bad = [w for w in where if "=" not in w]
    if bad:
        raise BadInput(f"应为 字段=值，收到 {bad[0]!r}", "--where")
    raw = dict(w.split("=", 1) for w in where)
    with configured_store() as store:
        filters = parse_filters(store.layer(layer), raw) if raw else None
        n = export_layer(store, layer, file, fmt=fmt, bbox=box, filters=filters)
    click.echo(f"已导出 {n} 个要素到 {file}")


@click.group()
def token() -> None:
    """API tokens (each carries one role)."""


@token.command("create")
@click.option("--name", required=True, help="Who will use it (recorded in the audit log).")
@click.option(
    "--role", type=click.Choice(ROLES), required=True, help="; ".join(f"{r}: {ROLE_LABELS[r]}" for r in ROLES)
)
@click.option(
    "--expires-days",
    type=int,
    default=None,
    help=f"Days the token is valid, 1–3650 (default {DEFAULT_TOKEN_DAYS}).",
)
@click.option("--never-expires", is_flag=True, help="A device token that never expires (only revoking ends it).")
def token_create(name: str, role: str, expires_days: int | None, never_expires: bool) -> None:
    """Create a token and print it (it is shown only once)."""
    from safemap.layers.tokens import MAX_EXPIRES_DAYS, create_token, expiry_message

    if never_expires and expires_days is not None:
        raise BadInput("不能与 --never-expires 同时使用", "--expires-days")
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise BadInput(expiry_message(expires_days) + "（--never-expires）", "--expires-days")
    days = None if never_expires else (expires_days or DEFAULT_TOKEN_DAYS)
    with configured_store() as store:
        click.echo(create_token(store, name, role, expires_days=days))
    click.echo("永不过期（吊销后失效）" if days is None else f"有效期 {days} 天", err=True)


@token.command("list")
def token_list() -> None:
    """List tokens (without their secrets)."""
    from safemap.layers.tokens import TOKEN_STATUS_LABELS, list_tokens

    with configured_store() as store:
        for t in list_tokens(store):
            state = TOKEN_STATUS_LABELS[t["status"]]
            until = f"{t['expires_at']:%Y-%m-%d}" if t["expires_at"] else "永不过期"
            click.echo(f"{t['id']:>4} {t['name']:<16} {t['role']:<10} {state:<4} {t['created_at']:%Y-%m-%d} 至 {until}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token by id."""
    from safemap.layers.tokens import revoke_token

    with configured_store() as store:
        revoke_token(store, token_id)
    click.echo(f"token {token_id} revoked")


@click.command()
@click.option("--layer", default=None)
@click.option("--id", "feature_id", type=int, default=None)
@click.option("--limit", type=int, default=20, show_default=True)
def audit(layer: str | None, feature_id: int | None, limit: int) -> None:
    """Show the audit log, newest first, as JSON lines."""
    with configured_store() as store:
        for entry in store.audit_log(layer=layer, feature_id=feature_id, limit=limit):
            click.echo(json.dumps(entry, default=iso_default, ensure_ascii=False))


COMMANDS = (demo, list_layers, migrate, import_, export, token, audit)

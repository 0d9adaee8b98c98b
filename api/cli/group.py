"""The ``safemap`` command line: serve, build the demo county, import/export, tokens, audit."""

from __future__ import annotations

import getpass
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from safemap.api.settings import Settings
from safemap.layers.catalogue import ROLE_LABELS, ROLES
from safemap.layers.errors import LayerError
from safemap.layers.store import Actor, FeatureStore


def _settings() -> Settings:
    return Settings()


def _open() -> FeatureStore:
    from safemap.api.http.app import open_configured_store

    return open_configured_store(_settings())


def _cli_actor(name: str | None) -> Actor:
    # The CLI runs on the server itself, with access to the store: it acts as admin.
    return Actor(name or f"cli:{getpass.getuser()}", "admin")


def _fail(exc: LayerError) -> None:
    click.secho(f"错误：{exc.message}", fg="red", err=True)
    for p in exc.problems[:50]:
        row = f"第 {p.row} 行 " if p.row is not None else ""
        click.echo(f"  {row}{p.field}: {p.message}", err=True)
    if len(exc.problems) > 50:
        click.echo(f"  …另有 {len(exc.problems) - 50} 处问题", err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """SafeMap 安全生产风险与应急资源一张图."""


@main.command()
@click.option("--host", default=None, help="Listen address (default SAFEMAP_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default SAFEMAP_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the map and the API."""
    import uvicorn

    from safemap.api.http.app import create_app

    settings = _settings()
    app = create_app(settings)
    click.echo(f"SafeMap: http://{host or settings.host}:{port or settings.port}/  (API: /docs)")
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info")


@main.command()
@click.option("--seed", type=int, default=2021, show_default=True)
@click.option("--if-missing", is_flag=True, help="Do nothing when the store already holds features.")
@click.option("--force", is_flag=True, help="Embedded store only: delete it and build afresh.")
def demo(seed: int, if_missing: bool, force: bool) -> None:
    """Build the 裕民县 demo county into the configured store."""
    from safemap.layers.demo import build_demo

    settings = _settings()
    if force:
        if settings.database_url:
            raise click.UsageError("--force only deletes the embedded GeoPackage, not a PostGIS database")
        for suffix in ("", "-wal", "-shm"):
            Path(str(settings.gpkg_path) + suffix).unlink(missing_ok=True)
    store = _open()
    try:
        # Reference tables seeded from data/ (standards, …) are not demo data.
        total = sum(n for name, n in store.counts().items() if store.layer(name).seed is None)
        if total:
            if if_missing:
                click.echo(f"数据库已有 {total} 个要素，保留现有数据（未重建演示数据）。")
                return
            raise click.UsageError(f"the store already holds {total} features; use --force to rebuild")
        started = time.perf_counter()
        counts = build_demo(store, seed=seed)
        click.echo(f"演示数据已生成（{time.perf_counter() - started:.1f} s）：")
        for layer, n in counts.items():
            click.echo(f"  {store.layer(layer).label:<10} {layer:<18} {n:>6}")
        graded = grade_store(store)
        click.echo(f"GB 18218 分级：{graded['graded']} 个危险源，其中重大危险源 {graded['major']} 个")
    except LayerError as exc:
        _fail(exc)
    finally:
        store.close()


@main.command("layers")
def list_layers() -> None:
    """List the layers with their feature counts."""
    store = _open()
    try:
        for name, n in store.counts().items():
            layer = store.layer(name)
            click.echo(f"{name:<18} {layer.label:<10} {layer.group:<8} {n:>7}")
    finally:
        store.close()


@main.command()
def migrate() -> None:
    """Create or upgrade the store's schema in place (never drops data)."""
    from safemap.layers.migrations import SCHEMA_VERSION

    store = _open()
    store.close()
    click.echo(f"schema version {store.previous_version} -> {SCHEMA_VERSION} ({store.backend.describe()})")


@main.command("import")
@click.argument("layer")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", default=None, help="CRS of the file when it does not say (e.g. EPSG:4490).")
@click.option("--gcj02", is_flag=True, help="Coordinates are GCJ-02 (Gaode/DataV); convert to WGS 84.")
@click.option("--source-layer", default=None, help="Layer inside a GeoPackage.")
@click.option("--lon", "lon_field", default=None, help="CSV longitude column.")
@click.option("--lat", "lat_field", default=None, help="CSV latitude column.")
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
    dry_run: bool,
    as_name: str | None,
) -> None:
    """Import FILE (GeoJSON, GeoPackage, zipped Shapefile, CSV) into LAYER — all or nothing."""
    from safemap.layers.transfer import import_file

    store = _open()
    try:
        report = import_file(
            store,
            layer,
            file,
            _cli_actor(as_name),
            crs=crs,
            gcj02=gcj02,
            source_layer=source_layer,
            lon_field=lon_field,
            lat_field=lat_field,
            dry_run=dry_run,
        )
        verb = "校验通过（未写入）" if dry_run else "已导入"
        click.echo(f"{verb} {report.count} 个要素到 {layer}")
        for w in report.warnings:
            click.echo(f"  提示：{w}")
    except LayerError as exc:
        _fail(exc)
    finally:
        store.close()


@main.command("export")
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
    from safemap.layers.transfer import export_layer

    store = _open()
    try:
        box = tuple(float(v) for v in bbox.split(",")) if bbox else None
        raw = dict(w.split("=", 1) for w in where)
        filters = store.parse_filters(layer, raw) if raw else None
        n = export_layer(store, layer, file, fmt=fmt, bbox=box, filters=filters)
        click.echo(f"已导出 {n} 个要素到 {file}")
    except LayerError as exc:
        _fail(exc)
    finally:
        store.close()


@main.group()
def token() -> None:
    """API tokens (each carries one role)."""


@token.command("create")
@click.option("--name", required=True, help="Who will use it (recorded in the audit log).")
@click.option(
    "--role", type=click.Choice(ROLES), required=True, help="; ".join(f"{r}: {ROLE_LABELS[r]}" for r in ROLES)
)
@click.option("--expires-days", type=int, default=None)
def token_create(name: str, role: str, expires_days: int | None) -> None:
    """Create a token and print it (it is shown only once)."""
    from safemap.layers.tokens import create_token

    store = _open()
    try:
        click.echo(create_token(store, name, role, expires_days=expires_days))
    except LayerError as exc:
        _fail(exc)
    finally:
        store.close()


@token.command("list")
def token_list() -> None:
    """List tokens (without their secrets)."""
    from safemap.layers.tokens import list_tokens

    store = _open()
    try:
        for t in list_tokens(store):
            state = "revoked" if t["revoked_at"] else "active"
            click.echo(f"{t['id']:>4} {t['name']:<16} {t['role']:<10} {state:<8} {t['created_at']:%Y-%m-%d}")
    finally:
        store.close()


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token by id."""
    from safemap.layers.tokens import revoke_token

    store = _open()
    try:
        revoke_token(store, token_id)
        click.echo(f"token {token_id} revoked")
    except LayerError as exc:
        _fail(exc)
    finally:
        store.close()


@main.command()
@click.option("--layer", default=None)
@click.option("--id", "feature_id", type=int, default=None)
@click.option("--limit", type=int, default=20, show_default=True)
def audit(layer: str | None, feature_id: int | None, limit: int) -> None:
    """Show the audit log, newest first, as JSON lines."""
    store = _open()
    try:
        for entry in store.audit_log(layer=layer, feature_id=feature_id, limit=limit):
            click.echo(json.dumps(entry, default=_json_default, ensure_ascii=False))
    finally:
        store.close()


def _json_default(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


from safemap.api.cli.coverage import COMMANDS as _COVERAGE_COMMANDS  # noqa: E402 - they import this module's group
from safemap.api.cli.network import COMMANDS as _NETWORK_COMMANDS  # noqa: E402
from safemap.api.cli.safety import COMMANDS as _SAFETY_COMMANDS  # noqa: E402
from safemap.api.cli.safety import grade_store  # noqa: E402

for _command in (*_SAFETY_COMMANDS, *_COVERAGE_COMMANDS, *_NETWORK_COMMANDS):
    main.add_command(_command)

if __name__ == "__main__":
    main()

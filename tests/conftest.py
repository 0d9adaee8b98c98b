"""Shared fixtures: stores on a temporary GeoPackage and on a throwaway PostGIS cluster.

The PostGIS cluster is started once per test session (as the ``postgres`` user when
running as root); each test gets a fresh database cloned from a template that already
holds PostGIS and the SafeMap schema. Set ``SAFEMAP_TEST_DATABASE_URL`` to use an
existing server's database as the template instead.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from safemap.layers.store import FeatureStore, open_store

YUMIN_EXTENT = (82.1, 45.25, 83.65, 46.65)
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    from tests.support import pg_cluster as pgc

    cluster = pgc.start()
    try:
        template = cluster.create_database("safemap_template")
        store = open_store(template)
        store.close()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: object) -> str:
    name = f"t{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as con:  # type: ignore[attr-defined]
        con.execute(f'CREATE DATABASE "{name}" TEMPLATE safemap_template')
    return pg_cluster.url.rsplit("/", 1)[0] + f"/{name}"  # type: ignore[attr-defined]


@pytest.fixture
def gpkg_path(tmp_path: Path) -> Path:
    return tmp_path / "store.gpkg"


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[FeatureStore]:
    store = open_store(pg_url, extent=YUMIN_EXTENT)
    yield store
    store.close()


@pytest.fixture
def gpkg_store(gpkg_path: Path) -> Iterator[FeatureStore]:
    store = open_store(gpkg_path, extent=YUMIN_EXTENT)
    yield store
    store.close()


@pytest.fixture(params=["geopackage", "postgis"])
def store(request: pytest.FixtureRequest) -> Iterator[FeatureStore]:
    """The same test against both stores (the contract suite uses this)."""
    name = "gpkg_store" if request.param == "geopackage" else "pg_store"
    yield request.getfixturevalue(name)

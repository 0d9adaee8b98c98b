"""Shared fixtures: stores on a temporary GeoPackage and on a throwaway PostGIS cluster, and the demo county.

The PostGIS cluster is started once per test session (as the ``postgres`` user when
running as root); each test gets a fresh database cloned from a template that already
holds PostGIS and the SafeMap schema. Set ``SAFEMAP_TEST_DATABASE_URL`` to use an
existing server's database as the template instead.

The demo county (graded, as ``safemap demo`` leaves it) is built once per session into a
GeoPackage file (``demo_county``). Tests that only read share one store on it
(``demo_store``); a test that writes takes ``demo_copy``, a store on its own copy of the
file. A test that writes to ``demo_store`` fails at teardown.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from safemap.layers.store import FeatureStore, open_store
from tests.support.demo import YUMIN_EXTENT, DemoCounty, build_demo_file, open_demo

__all__ = ["YUMIN_EXTENT"]

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


@pytest.fixture(scope="session")
def gpkg_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store made once per session; each test's GeoPackage store is a copy of it.

    Creating the ~80 tables and seeding the standards tables takes about a second per store,
    copying the file a few milliseconds (the PostGIS stores are cloned from a template database
    the same way, ``pg_url``). Opening the copy still runs the schema check of every opening.
    """
    path = tmp_path_factory.mktemp("gpkg-template") / "template.gpkg"
    open_store(path, extent=YUMIN_EXTENT).close()
    return path


@pytest.fixture
def gpkg_store(gpkg_path: Path, gpkg_template: Path) -> Iterator[FeatureStore]:
    shutil.copyfile(gpkg_template, gpkg_path)
    store = open_store(gpkg_path, extent=YUMIN_EXTENT)
    yield store
    store.close()


@pytest.fixture(params=["geopackage", "postgis"])
def store(request: pytest.FixtureRequest) -> Iterator[FeatureStore]:
    """The same test against both stores (the contract suite uses this)."""
    name = "gpkg_store" if request.param == "geopackage" else "pg_store"
    yield request.getfixturevalue(name)


# ---------------------------------------------------------------------------- the demo county


@pytest.fixture(scope="session")
def demo_county(tmp_path_factory: pytest.TempPathFactory) -> DemoCounty:
    """The graded demo county in a closed GeoPackage file (never opened again: copies are)."""
    return build_demo_file(tmp_path_factory.mktemp("demo-county") / "demo.gpkg")


@pytest.fixture(scope="session")
def demo_store(demo_county: DemoCounty, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeatureStore]:
    """The demo county shared by every test that only reads it (do not write: use ``demo_copy``)."""
    store = open_demo(demo_county, tmp_path_factory.mktemp("demo-shared") / "demo.gpkg")
    yield store
    store.close()


@pytest.fixture
def demo_copy(demo_county: DemoCounty, tmp_path: Path) -> Iterator[FeatureStore]:
    """A store on this test's own copy of the demo county, free to write."""
    store = open_demo(demo_county, tmp_path / "demo.gpkg")
    yield store
    store.close()


@pytest.fixture(autouse=True)
def _demo_store_stays_unchanged(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test that writes to the shared demo store (directly or through a client on it)."""
    if "demo_store" not in request.fixturenames:
        yield
        return
    store: FeatureStore = request.getfixturevalue("demo_store")
    before = store.generation()
    yield
    after = store.generation()
    assert after == before, f"{request.node.nodeid} wrote to the shared demo_store: take demo_copy instead"

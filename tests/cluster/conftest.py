"""The HA formation of the failover drills: a pg_auto_failover monitor and two data nodes per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import ha_cluster


@pytest.fixture
def ha() -> Iterator[ha_cluster.HACluster]:
    """A fresh formation (node1 primary, node2 its synchronous standby), stopped even when the test fails."""
    cluster = ha_cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()

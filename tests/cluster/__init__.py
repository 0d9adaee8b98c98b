"""Tests that start several PostgreSQL servers (replication, failover): ``pytest -m cluster``."""

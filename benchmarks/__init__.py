"""Timed comparisons with peers (not part of the test run)."""

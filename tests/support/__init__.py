"""Test tooling: throwaway PostgreSQL clusters, live servers, answer recording. Not shipped."""

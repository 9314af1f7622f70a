"""Helpers shared by tests (transaction building and signing, regtest chains)."""

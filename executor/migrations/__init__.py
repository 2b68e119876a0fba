"""Alembic migrations for the store (run programmatically by ``executor.store.migrate``)."""

"""The executor: durable runs, retries, the SQL store and the ledger."""

from .ledger import EventKind, Ledger, LedgerEvent, VerifyResult

__all__ = ["EventKind", "Ledger", "LedgerEvent", "VerifyResult"]

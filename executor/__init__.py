"""The executor: durable runs, retries, the SQL store and the ledger."""

from .ledger import EventKind, Ledger, LedgerEvent, VerifyResult
from .ledger_export import ExportFormat, export_cloudevents, export_jsonl
from .telemetry import bind_log, span

__all__ = ["EventKind", "ExportFormat", "Ledger", "LedgerEvent", "VerifyResult", "bind_log",
           "export_cloudevents", "export_jsonl", "span"]

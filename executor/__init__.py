"""The executor: durable runs, retries, the SQL store and the ledger."""

from .ledger import EventKind, Ledger, LedgerEvent, VerifyResult
from .ledger_export import ExportFormat, export_cloudevents, export_jsonl
from .telemetry import bind_log, span
# The durable runner (issue 5): run it, inspect its records, plug in a runtime check.
from .artifacts import ArtifactStore
from .checks import RuntimeCheck, StepCall, StepDecision
from .draining import Drain
from .errors import LeaseLostError, RunError, RunLeftError, RunNotFoundError, RunOwnedError
from .records import AttemptRecord, AttemptStatus, RunRecord, RunStatus, StepRecord
from .retry import RetryDecision, decide
from .runner import Runner, StepProgress
from .scheduling import StepStatus, ready_steps

__all__ = ["EventKind", "ExportFormat", "Ledger", "LedgerEvent", "VerifyResult", "bind_log",
           "export_cloudevents", "export_jsonl", "span"]
__all__ += ["ArtifactStore", "AttemptRecord", "AttemptStatus", "Drain", "LeaseLostError",
            "RetryDecision", "RunError", "RunLeftError", "RunNotFoundError", "RunOwnedError",
            "RunRecord", "RunStatus", "Runner", "RuntimeCheck", "StepCall", "StepDecision",
            "StepProgress", "StepRecord", "StepStatus", "decide", "ready_steps"]

"""The SQL store: one schema for plans, decisions, approvals, runs and the ledger."""

from .db import StoreError, make_engine
from .schema import (
    ApprovalRow,
    DecisionRow,
    LedgerRow,
    PlanRow,
    PlanVersionRow,
    RunRow,
    StepRunRow,
)

__all__ = [
    "ApprovalRow",
    "DecisionRow",
    "LedgerRow",
    "PlanRow",
    "PlanVersionRow",
    "RunRow",
    "StepRunRow",
    "StoreError",
    "make_engine",
]

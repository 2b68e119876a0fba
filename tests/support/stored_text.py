"""What a plan left behind in the store and the ledger, as one text (where a secret must
never appear)."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from baton.services import Services
from executor.store.schema import PlanRow, PlanVersionRow


def everything_stored(services: Services, plan_id: str,
                      error: BaseException | None = None) -> str:
    """The stored plan rows, the ledger of ``plan_id`` and the error raised, as one text."""
    with Session(services.engine) as session:
        rows = [*session.exec(select(PlanRow)).all(), *session.exec(select(PlanVersionRow)).all()]
    events = [e.payload for e in services.ledger.events(subject=plan_id)]
    return json.dumps([[r.model_dump(mode="json") for r in rows], events, str(error or "")],
                      ensure_ascii=False)

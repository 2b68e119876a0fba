"""The API's JSON answers: where pydantic's JSON writer stops (nesting past 254 levels) they
are written with json.dumps from plain data, which says what pydantic says of the records it
can write: same keys in the same order, same values, the same characters unescaped."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from baton.api.plain_json import json_bytes, json_response, plain
from executor.ledger import LedgerEvent
from executor.records import AttemptRecord, AttemptStatus, RunRecord, RunStatus, StepRecord
from executor.scheduling import StepStatus

AT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
OUTPUTS = [
    None, 0, -1, 2**70, 0.1, 1e300, -2.5e-8, 1e16, True, "", "é—日本\u2028\U0001f600",
    "quote \" backslash \\ newline \n tab \t nul \x00 del \x7f", [1, [2, [3]]],
    {"z": 1, "a": {"m": [None, False]}, "": "empty key"}, {"rows": [{"x": 1.0}] * 3},
]


def _record(output: Any) -> RunRecord:
    attempt = AttemptRecord(attempt=1, status=AttemptStatus.SUCCEEDED, started_at=AT,
                            ended_at=AT + timedelta(seconds=1))
    step = StepRecord(step_id="s", tool="json.query", position=0, status=StepStatus.SUCCEEDED,
                      attempts=1, idempotency_key="k", output=output, started_at=AT,
                      attempt_log=(attempt,))
    return RunRecord(id="r-1", plan_id="p-1", version=1, plan_hash="h", status=RunStatus.FAILED,
                     requested_by="alice", concurrency=2, error="ünïcode", created_at=AT,
                     steps=(step,))


def _event(payload: dict[str, Any]) -> LedgerEvent:
    return LedgerEvent(seq=7, at=AT, kind="attempt_success", subject="r-1", actor="executor",
                       payload=payload, prev_hash="0" * 64, hash="f" * 64)


def _dumped(value: Any) -> str:
    """``value`` as the API writes what pydantic refuses to."""
    return json.dumps(plain(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _in_order(text: str) -> str:
    """The JSON text re-written from its parse: values and key order, not number spelling."""
    return json.dumps(json.loads(text))


@pytest.mark.parametrize("output", OUTPUTS, ids=range(len(OUTPUTS)))
def test_a_record_reads_as_pydantic_wrote_it(output):
    for value in (_record(output), _event({"output": {"value": output}})):
        ours, theirs = _dumped(value), value.model_dump_json(by_alias=True)
        assert _in_order(ours) == _in_order(theirs)
        assert "\n" not in ours  # one line: an event stream's data


def test_a_list_of_records_reads_as_pydantic_wrote_it():
    from pydantic import TypeAdapter

    records = [_record(output) for output in OUTPUTS]
    theirs = TypeAdapter(list[RunRecord]).dump_json(records, by_alias=True).decode()
    assert _in_order(_dumped(records)) == _in_order(theirs)
    assert json_bytes(records) == theirs.encode()  # what the API always sent, to the byte


def test_text_beyond_ascii_is_sent_as_utf8_as_pydantic_sent_it():
    record = _record("é—日本")
    assert _dumped(record) == record.model_dump_json(by_alias=True)


def test_a_nan_or_infinity_stored_by_an_older_baton_is_null_as_pydantic_wrote_it():
    output = {"nan": math.nan, "inf": math.inf, "list": [-math.inf, 1.5]}
    ours = json.loads(_dumped(_record(output)))["steps"][0]["output"]
    assert ours == {"nan": None, "inf": None, "list": [None, 1.5]}
    assert ours == json.loads(_record(output).model_dump_json())["steps"][0]["output"]


def test_an_output_far_deeper_than_pydantic_writes_is_written():
    value: Any = "bottom"
    for _ in range(600):
        value = [value]
    with pytest.raises(ValueError):
        _record(value).model_dump_json()
    response = json_response(_record(value), status_code=202)
    assert response.status_code == 202 and response.media_type == "application/json"
    shown = json.loads(response.body)["steps"][0]["output"]
    for _ in range(600):
        shown = shown[0]
    assert shown == "bottom"


def test_the_routes_still_document_their_records(server):
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]

    def schema(path: str, method: str, status: str) -> dict[str, Any]:
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]

    record = {"$ref": "#/components/schemas/RunRecord"}
    assert schema("/api/v1/runs", "post", "202") == record
    assert schema("/api/v1/runs/{run_id}", "get", "200") == record
    assert schema("/api/v1/runs/{run_id}/cancel", "post", "200") == record
    assert schema("/api/v1/runs", "get", "200")["items"] == record
    assert schema("/api/v1/ledger/events", "get", "200")["items"] == {
        "$ref": "#/components/schemas/LedgerEvent"}

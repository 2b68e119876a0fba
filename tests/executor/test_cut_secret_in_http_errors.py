"""An HTTP error's body excerpt never keeps the start of a configured secret the call did not
use: the tool masks only the call's own secrets and cuts the body at 200 characters, and the
run masks the whole error with every secret, the start of one cut at the excerpt's end too.
A 403 body holding another secret across the cut was stored, ledgered and logged as
``… T=crmTokenValu``."""

from __future__ import annotations

from executor.ledger import Ledger
from executor.records import RunStatus
from tests.executor.runsupport import HostCheck, Sleeps, make_runner, run_plan
from tests.executor.test_secret_outputs import stored_text
from tests.support.http_server import Reply
from tools import ToolRegistry
from tools.builtin.http import register_http_request
from tools.redaction import REDACTED

CRM = "crmTokenValue8f3a91"


def test_a_secret_crossing_the_excerpts_cut_leaves_no_start_behind(engine, tmp_path,
                                                                    http_server):
    http_server.script("/status", Reply(status=403, body=("E" * 185 + f" T={CRM} ...").encode()))
    registry = ToolRegistry()
    register_http_request(registry, max_response_bytes=1 << 20)
    runner = make_runner(engine, registry, tmp_path, ledger=Ledger(engine),
                         runtime_check=HostCheck(""), secrets={"CRM_TOKEN": CRM}, sleep=Sleeps())
    record = run_plan(runner, engine, {"goal": "read the status page", "steps": [
        {"id": "status", "tool": "http.request", "args": {"url": http_server.url("/status")}}]})
    assert record.status is RunStatus.FAILED
    (step,) = record.steps
    assert step.error is not None and step.error.endswith(f" T={REDACTED}…")
    assert "crmT" not in stored_text(engine)
    assert all("crmT" not in e.model_dump_json() for e in Ledger(engine).events())

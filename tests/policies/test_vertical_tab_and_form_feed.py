"""A vertical tab or a form feed in a value reaches neither engine as it is: the embedded
interpreter wrote them unescaped into a message quoting them (a host), which could not be read
back, and every such call was denied with an engine error instead of the rule's own reason.
Like the other control characters, each is given to both engines as U+FFFD.
"""

from __future__ import annotations

import pytest

from policies.contracts import Requester, StepCall
from policies.long_strings import readable

ALICE = Requester(id="alice", roles=("analyst",))


def _get(engine, url: str):
    return engine.check_step(StepCall(run_id="r-1", plan_id="p-1", step_id="get",
                                      tool="http.request", effect="read", args={"url": url},
                                      tags=("egress",), requester=ALICE))


@pytest.mark.parametrize("control", ["\x0b", "\x0c"])
def test_a_host_with_a_vertical_tab_or_a_form_feed_is_denied_by_the_egress_rule(engine, control):
    verdict = _get(engine, f"https://api{control}.internal.example/")
    assert list(verdict.deny) == [
        "step get: host api\ufffd.internal.example is not on the egress allowlist"]


def test_a_secret_after_a_vertical_tab_or_a_form_feed_is_found(engine):
    verdict = engine.check_step(StepCall(
        run_id="r-1", plan_id="p-1", step_id="save", tool="files.write", effect="write",
        args={"path": "o.txt", "text": "a\x0bAKIAIOSFODNN7EXAMPLE\x0c"}, requester=ALICE))
    assert list(verdict.deny) == [
        "step save: argument $.args.text contains an AWS access key; configure it as a secret "
        "and write ${secret:NAME} instead"]


def test_tab_line_feed_and_carriage_return_are_kept():
    assert readable("a\tb\nc\rd\x0be\x0cf") == "a\tb\nc\rd\ufffde\ufffdf"

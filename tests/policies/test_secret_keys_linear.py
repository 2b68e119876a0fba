"""The key-word rule reads a POST of many distinct keys in memory linear in their number.

Reading each key once into an object of the keys made the embedded interpreter build that
object in time and memory quadratic in its size: 1,200 distinct keys ``password_0_<i>``
took 8 s and 2 GiB under its global lock, 2,400 took 35 s and 8.5 GiB, and two steps of
2,450 ran out of memory. The memory a decision adds is compared between a POST and one four
times its size, each decided in a fresh process (never against a wall-clock limit): linear
reading adds about four times as much, quadratic sixteen. bench_policy reports the time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from planner.plan import Plan
from policies.inputs import build_policy_input
from tests.support.policy_tools import policy_registry
from tests.support.url_credential_cases import ALICE, NOON

URL = "https://api.internal.example/in"

# A child process: the peak memory deciding a POST of N distinct keys adds, in KiB. The peak
# is set back to the memory in use before deciding (/proc/self/clear_refs): the process's
# own peak so far (compiling modules, loading the bundle) would hide a small decision's.
_DECIDE_KEYS = textwrap.dedent("""
    import re, sys
    from planner.plan import Plan
    from policies.bundle import PolicyBundle
    from policies.embedded import EmbeddedEngine
    from policies.inputs import build_policy_input
    from tests.support.policy_tools import policy_registry
    from tests.support.url_credential_cases import ALICE, NOON

    def doc(args):
        plan = Plan.model_validate({"goal": "g", "steps": [
            {"id": "send", "tool": "http.request", "args": args}]})
        return build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON)

    def status_kib(field):
        with open("/proc/self/status") as status:
            return int(re.search(field + r":\\s+(\\d+) kB", status.read()).group(1))

    n = int(sys.argv[1])
    body = {f"password_0_{i}": f"Zk3x9QpLm2Vb7RtYw{i:05d}" for i in range(n)}
    big = doc({"method": "POST", "url": "%s", "json": body})
    engine = EmbeddedEngine(PolicyBundle.load())
    engine.decide(doc({"url": "%s"}))  # the interpreter's own memory, before measuring
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak (VmHWM) set back to the memory in use
    before = status_kib("VmRSS")
    denied = engine.decide(big).deny
    print(status_kib("VmHWM") - before, len(denied))
""" % (URL, URL))


def _added_kib(keys: int) -> int:
    done = subprocess.run([sys.executable, "-c", _DECIDE_KEYS, str(keys)], capture_output=True,
                          text=True, check=True)
    added, denied = map(int, done.stdout.split())
    assert denied == 51  # 50 listed and "and N more"
    return added


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux's /proc only")
def test_many_distinct_sensitive_keys_are_read_in_linear_memory():
    small, large = _added_kib(300), _added_kib(1_200)
    assert large / max(small, 1) < 8, (small, large)  # quadratic reading gives about 19


def _deny(engine, body) -> list[str]:
    plan = Plan.model_validate({"goal": "g", "steps": [{"id": "send", "tool": "http.request",
                                                        "args": {"method": "POST", "url": URL,
                                                                 "json": body}}]})
    doc = build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON)
    return list(engine.decide(doc).deny)


def _random(path: str, word: str) -> str:
    return (f"step send: argument {path} looks like a literal secret ({word}); configure it as "
            "a secret and write ${secret:NAME} instead")


VALUE = "Zk3x9QpLm2Vb7RtYw"


@pytest.mark.parametrize(("key", "word"), [
    ("password", "password"), ("X-API-Key", "api_key"), ("X-Auth-Token", "token"),
    ("Proxy-Authorization", "authorization"), ("db_pwd", "pwd"), ("userPass", "pass"),
    ("Ocp-Apim-Subscription-Key", "key"), ("Set-Cookie", "cookie"),
    ("HTTPAuth", None), ("Idem_potencyKey", None), ("X-Idempotency-Key", None), ("publicKey", None),
    ("XSort_key", "key"), ("monkey", None), ("author", None), ("bypass", None), ("note", None),
    ("a-" * 150 + "key", "key"), ("a-" * 150 + "sort_key", None), ("x" * 200 + "_password",
                                                                  "password"),
])
def test_each_key_is_read_for_its_word_as_before(engine, key, word):
    # Words and names as sensitive_word read them when every key was read once into an object.
    denied = _deny(engine, {"rows": [{key: VALUE}, {key: VALUE + "2"}]})
    if word is None:
        assert denied == []
    else:
        assert len(denied) == 2 and all(f"({word});" in line for line in denied), denied


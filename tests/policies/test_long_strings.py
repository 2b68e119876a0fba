"""A long string can neither crash the policy engine nor hide a secret from it.

rego-cpp's ``regex.match`` (libstdc++ ``std::regex``) overflowed the stack on a run of
about 26,000 letters and digits and killed the process (a plan with one 40 KB string
took ``baton serve`` down). Plans are judged in a child process here, so a regression
fails these tests instead of killing pytest.
"""

from __future__ import annotations

import json
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest

from policies.long_strings import MAX_LONG_STRING_CHARS, OVERLAP, WINDOW, string_windows, windowed_input
from tests.support.computed_once import computed_once

ROOT = Path(__file__).resolve().parents[2]
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"

# Judges each case's text as a plan (files.write) and as one call at run time, on the engine
# named by argv[1], and prints one line per case: RESULT and the plan's and the call's denies
# in JSON (logs may share standard output).
CHILD = r'''
import json, sys
from datetime import UTC, datetime
from planner.plan import Plan
from policies.bundle import PolicyBundle
from policies.contracts import PolicyContext, Requester, StepCall
from policies.embedded import EmbeddedEngine
from policies.inputs import build_policy_input
from policies.opa import OpaEngine
from tests.support.fake_opa import FakeOpa
from tests.support.policy_tools import policy_registry

alice = Requester(id="alice", roles=("analyst",))
noon = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))
bundle = PolicyBundle.load()
server = FakeOpa()
engine = (EmbeddedEngine(bundle) if sys.argv[1] == "embedded"
          else OpaEngine(bundle, server.url, timeout_s=60.0))
for text in json.load(sys.stdin):
    args = {"path": "out.txt", "text": text}
    plan = Plan.model_validate({"goal": "write it", "steps": [
        {"id": "save", "tool": "files.write", "args": args}]})
    decision = engine.decide(build_policy_input(plan, policy_registry(), requester=alice,
                                                context=noon))
    call = engine.check_step(StepCall(run_id="r-1", plan_id="p-1", step_id="save",
                                      tool="files.write", effect="write", args=args,
                                      requester=alice))
    print("RESULT", json.dumps({"plan": list(decision.deny), "call": list(call.deny)}), flush=True)
server.close()
'''


# Each byte value maps to a letter or a digit (unevenly: no matter here).
_ALNUM = (string.ascii_letters + string.digits).encode()
_BYTE_TO_ALNUM = bytes(_ALNUM[b % len(_ALNUM)] for b in range(256))


def _token(length: int, seed: int) -> str:
    # Letters and digits: the run the URL-password pattern's scheme part takes in whole.
    # From random bytes, not a choice per character: the 5 MiB token took seconds to build
    # at collection, in every xdist worker.
    return random.Random(seed).randbytes(length).translate(_BYTE_TO_ALNUM).decode()


def _judged(engine: str, texts: list[str]) -> list[dict[str, list[str]]]:
    done = subprocess.run([sys.executable, "-c", CHILD, engine], input=json.dumps(texts),
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, f"the {engine} engine's process died ({done.returncode}): {done.stderr[-2000:]}"
    return [json.loads(line.removeprefix("RESULT ")) for line in done.stdout.splitlines()
            if line.startswith("RESULT ")]


def _judged_cases(engine: str, tmp_path_factory) -> list[dict[str, list[str]]]:
    # Judged once per engine and run (about 10 s each), not once per xdist worker: the
    # tests below read the same results.
    return computed_once(tmp_path_factory, f"long_strings_judged_{engine}",
                         lambda: _judged(engine, [text for _, text in CASES]))


@pytest.fixture(params=["embedded", "opa"])
def judged(request, tmp_path_factory):
    """The denies of each case below, judged by one engine in a child process."""
    return request.param, _judged_cases(request.param, tmp_path_factory)


CASES = [
    ("40 KB token", _token(40_000, 1)),
    ("5 MiB token", _token(5 * 1024 * 1024, 2)),
    # A file a run copies: text past the first limit (262,144 characters) that denied it.
    ("600 KB of CSV", "".join(f"{i},{i * 7 % 997},customer note number {i}\n" for i in range(16_000))),
    # A few windows in: each window is scanned alike, so deeper costs time (letters and digits
    # scan slowest) and checks nothing more; "at the very end" keeps one 45 KB in, against a
    # scan that stops early.
    ("AWS key past the first window", _token(4_500, 3) + " " + AWS_KEY + " " + _token(500, 4)),
    ("private key past the first window",
     _token(3_000, 5) + "\n" + PRIVATE_KEY + "\n" + _token(3_000, 6)),
    # Starts 10 characters before a window ends: found whole only in the next window.
    ("AWS key across a window edge", _token(WINDOW - 10, 7) + AWS_KEY + _token(5_000, 8)),
    ("AWS key at the very end", _token(45_000, 9) + AWS_KEY),
]


def _case(judged, name: str) -> dict[str, list[str]]:
    return judged[1][[n for n, _ in CASES].index(name)]


def test_a_40_kb_string_is_judged_without_crashing_the_engine(judged):
    result = _case(judged, "40 KB token")
    assert result == {"plan": [], "call": []}


def test_a_csv_file_of_600_kb_is_judged_not_refused(judged):
    assert _case(judged, "600 KB of CSV") == {"plan": [], "call": []}


def test_a_5_mib_string_is_denied_as_too_long_to_scan(judged):
    result = _case(judged, "5 MiB token")
    for denies in (result["plan"], result["call"]):
        assert len(denies) == 1
        assert "too many strings to scan for secrets" in denies[0]
        assert f"more than {MAX_LONG_STRING_CHARS} characters in strings longer than" in denies[0]


@pytest.mark.parametrize(("name", "kind"), [
    ("AWS key past the first window", "an AWS access key"),
    ("private key past the first window", "a private key"),
    ("AWS key across a window edge", "an AWS access key"),
    ("AWS key at the very end", "an AWS access key"),
])
def test_a_secret_deep_in_a_long_string_is_still_found(judged, name, kind):
    result = _case(judged, name)
    for denies in (result["plan"], result["call"]):
        assert denies == [f"step save: argument $.args.text contains {kind}; configure it as "
                          "a secret and write ${secret:NAME} instead"]
        assert AWS_KEY not in denies[0]


def test_both_engines_judge_long_strings_alike(tmp_path_factory):
    assert _judged_cases("embedded", tmp_path_factory) == _judged_cases("opa", tmp_path_factory)


def test_every_substring_up_to_the_overlap_lies_inside_one_window():
    text = _token(5 * WINDOW + 123, 10)
    windows = list(string_windows(text))
    assert all(len(w) <= WINDOW for w in windows)
    for start in range(0, len(text) - OVERLAP + 1, 7):
        assert any(text[start:start + OVERLAP] in w for w in windows), start
    assert any(w.endswith(text[-OVERLAP:]) for w in windows)


def test_a_short_string_reaches_the_rules_unchanged():
    policy_input = {"kind": "step", "step": {"id": "s", "strings": [
        {"path": "$.args.a", "key": "a", "value": "x" * WINDOW, "length": WINDOW, "entropy": 0.0}]}}
    assert windowed_input(policy_input) == policy_input

"""rego-cpp's time built-ins with a time zone give the zone's answer, in-process and in an
evaluator process, where they used to abort the process: the C++ library they need was
already loaded, privately, by another extension (greenlet, which structlog imports)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from policies.engine import EngineFailure
from policies.isolated_rego import EvaluatorPool

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the loader of Linux"),
    pytest.mark.skipif(not Path("/usr/share/zoneinfo/tzdata.zi").is_file(),
                       reason="rego-cpp reads the zones from the system's tzdata"),
]

ZONED = textwrap.dedent("""\
    package baton
    import rego.v1
    decision := {
        "clock": time.clock([input.ns, "America/New_York"]),
        "date": time.date([input.ns, "Asia/Tokyo"]),
        "weekday": time.weekday([input.ns, "Asia/Tokyo"]),
        "format": time.format([input.ns, "America/New_York", "RFC3339"]),
        "utc_weekday": time.weekday(input.ns),
    }
    step_decision := time.clock([input.ns, "Nowhere/Unknown"])
    """)
INSTANT = {"ns": 1_700_000_000 * 10**9}  # 2023-11-14T22:13:20Z, a Tuesday
EXPECTED = {"clock": [17, 13, 20], "date": [2023, 11, 15], "weekday": "Wednesday",
            "format": "2023-11-14T17:13:20-05:00", "utc_weekday": "Tuesday"}
PATIENCE_S = 120.0  # only so that a broken build fails instead of hanging

# As a short command runs: the C++ library loaded privately first, then the interpreter.
IN_PROCESS = textwrap.dedent("""\
    import ctypes, json, sys
    ctypes.CDLL("libstdc++.so.6")
    from policies.embedded import CompiledPolicies
    from policies.engine import EngineFailure
    compiled = CompiledPolicies((("zoned.rego", sys.argv[1]),), {})
    instant = json.loads(sys.argv[2])
    try:
        compiled.evaluate("baton/step_decision", instant)
        unknown = None
    except EngineFailure as exc:
        unknown = str(exc)
    print(json.dumps([compiled.evaluate("baton/decision", instant), unknown]))
    """)


def test_time_built_ins_with_a_zone_judge_in_process():
    done = subprocess.run([sys.executable, "-c", IN_PROCESS, ZONED, json.dumps(INSTANT)],
                          capture_output=True, text=True, timeout=PATIENCE_S,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-500:]
    value, unknown = json.loads(done.stdout)
    assert value == EXPECTED
    assert "cannot locate zone: Nowhere/Unknown" in unknown


def test_time_built_ins_with_a_zone_judge_in_an_evaluator_process():
    pool = EvaluatorPool((("zoned.rego", ZONED),), {}, max_processes=1)
    try:
        assert pool.evaluate("baton/decision", INSTANT) == EXPECTED
        with pytest.raises(EngineFailure, match="cannot locate zone: Nowhere/Unknown"):
            pool.evaluate("baton/step_decision", INSTANT)
        assert len(pool.pids()) == 1  # an unknown zone is the query's failure, not the process's
    finally:
        pool.close()

"""Policy fixtures: an input document and the decision expected for it.

A fixture file ``policies/fixtures/<name>.json`` holds::

    {"description": "...", "entrypoint": "decision" | "step_decision",
     "input": {...},
     "expected": {"allow": false, "deny_contains": ["..."], "deny_count": 1,
                  "approvals": {"count": 1}, "notes_contains": ["..."],
                  "runtime_checks": ["post"], "risk_at_least": 20}}

Every key of ``expected`` is optional; each one present is checked. A fixture
must expect something: an empty ``expected``, an unknown key (top level or inside
``approvals``), a value of the wrong type or a ``*_contains``/``*_excludes`` list
with nothing in it would pass without testing anything, so the file is refused.

Fixtures are run with the data they were written for: Baton's own (shipped)
fixtures with the policy directory's data file alone, since settings'
``[policy.data]`` (a narrower egress allowlist, say) would change decisions
they pin; the fixtures of a ``policies_dir`` of one's own with the configured
data, overrides included, since they test that deployment.
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import BatonError

from .bundle import SHIPPED_FIXTURES
from .contracts import Decision, StepDecision
from .engine import PolicyEngine


@dataclass(frozen=True)
class Fixture:
    """One fixture file."""

    name: str
    description: str
    entrypoint: str
    input: dict[str, Any]
    expected: dict[str, Any]


@dataclass(frozen=True)
class FixtureSuite:
    """The fixtures to run for some settings, and the engine to run them on."""

    directory: Path
    engine: PolicyEngine
    configured_data: bool  # False: settings' policy_data set aside for Baton's own fixtures


@dataclass(frozen=True)
class FixtureResult:
    """The outcome of one fixture against one engine."""

    name: str
    passed: bool
    failures: tuple[str, ...]


class PolicyFixtureError(BatonError):
    """One or more fixture files cannot be run; names each file and what is wrong with it."""

    code = "bad_policy_fixture"

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"policy fixtures that cannot be run:\n{lines}")


ENTRYPOINTS = ("decision", "step_decision")

# What each expectation must hold; a key not listed here (a typo such as
# "deny_contain") would otherwise be skipped, and the fixture pass untested.
_STRINGS = (list, "a list of strings")
EXPECTATIONS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "allow": (bool, "true or false"), "deny_contains": _STRINGS, "deny_excludes": _STRINGS,
    "deny_count": (int, "a whole number"), "approvals": (dict, "an object such as {\"count\": 1}"),
    "notes_contains": _STRINGS, "notes_excludes": _STRINGS, "runtime_checks": _STRINGS,
    "risk_at_least": ((int, float), "a number"), "risk_below": ((int, float), "a number"),
}


# What each key inside "approvals" must hold (the same kinds as above).
APPROVAL_EXPECTATIONS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "count": (int, "a whole number"),
}
# Lists that only say "each of these must (not) appear": empty, they test nothing.
_NEEDLES = ("deny_contains", "deny_excludes", "notes_contains", "notes_excludes")


def _value_problem(key: str, value: Any, kind: type | tuple[type, ...], wanted: str) -> str | None:
    if (not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
            or (kind is list and not all(isinstance(v, str) for v in value))):
        return f"expectation {key!r} must be {wanted}"
    return None


def _approvals_problems(approvals: dict[str, Any]) -> list[str]:
    if not approvals:
        return ["expectation 'approvals' is empty: it tests nothing (expect e.g. {\"count\": 1})"]
    problems = []
    for key, value in approvals.items():
        if key not in APPROVAL_EXPECTATIONS:
            problems.append(f"unknown expectation 'approvals.{key}' "
                            f"(known: {', '.join(APPROVAL_EXPECTATIONS)})")
        elif problem := _value_problem(f"approvals.{key}", value, *APPROVAL_EXPECTATIONS[key]):
            problems.append(problem)
    return problems


def _expectation_problems(expected: dict[str, Any]) -> list[str]:
    if not expected:
        return ["'expected' is empty: the fixture would pass without testing anything"]
    problems = []
    for key, value in expected.items():
        if key not in EXPECTATIONS:
            problems.append(f"unknown expectation {key!r} (known: {', '.join(EXPECTATIONS)})")
        elif problem := _value_problem(key, value, *EXPECTATIONS[key]):
            problems.append(problem)
        elif key == "approvals":
            problems += _approvals_problems(value)
        elif key in _NEEDLES and not value:
            problems.append(f"expectation {key!r} is an empty list: it tests nothing")
    return problems


def _shape_problems(raw: Any) -> list[str]:
    """Everything wrong with a parsed fixture document (nothing when it can be run)."""
    if not isinstance(raw, dict):
        return ["must be a JSON object with 'input' and 'expected'"]
    problems = [f"lacks {key!r}" for key in ("input", "expected") if key not in raw]
    problems += [f"{key!r} must be an object" for key in ("input", "expected")
                 if key in raw and not isinstance(raw[key], dict)]
    if raw.get("entrypoint", "decision") not in ENTRYPOINTS:
        problems.append(f"entrypoint must be decision or step_decision, got {raw['entrypoint']!r}")
    if isinstance(raw.get("expected"), dict):
        problems += _expectation_problems(raw["expected"])
    return problems


def _read_fixture(path: Path) -> tuple[Fixture | None, list[str]]:
    """The fixture in ``path``, or the problems that keep it from running (each naming the file)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return None, [f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}, column {exc.colno})"]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{path}: cannot be read ({exc})"]
    problems = _shape_problems(raw)
    if problems:
        return None, [f"{path}: {p}" for p in problems]
    return Fixture(name=path.stem, description=raw.get("description", ""),
                   entrypoint=raw.get("entrypoint", "decision"),
                   input=raw["input"], expected=raw["expected"]), []


def fixture_paths(directory: Path) -> list[Path]:
    """The ``*.json`` entries of ``directory``, sorted; none when it does not exist.

    A directory that cannot be listed or looked at is a ``PolicyFixtureError`` naming it:
    ``Path.glob`` answered it with no files, so ``baton policy test`` ran nothing (and said
    "0 passed, 0 failed", not why). Listed as ``policies.bundle.rego_files`` lists policies.
    """
    directory = Path(directory)
    try:
        if not stat.S_ISDIR(os.stat(directory).st_mode):
            raise PolicyFixtureError([f"fixtures directory {directory} is not a directory"])
        with os.scandir(directory) as entries:
            names = [entry.name for entry in entries if fnmatch.fnmatchcase(entry.name, "*.json")]
    except OSError as exc:
        if exc.errno == errno.ENOENT and os.path.lexists(directory):  # a link to nothing
            raise PolicyFixtureError([f"fixtures directory {directory} is not a directory"]) \
                from exc
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return []
        raise PolicyFixtureError([f"fixtures directory {directory} cannot be read: "
                                  f"{exc.strerror or type(exc).__name__}"]) from exc
    return [directory / name for name in sorted(names)]


def load_fixtures(directory: Path) -> list[Fixture]:
    """Every ``*.json`` fixture in ``directory``, by name; ``PolicyFixtureError`` listing every
    file that cannot be run (none is run then: a suite with a broken file is not a pass)."""
    fixtures, problems = [], []
    for path in fixture_paths(directory):
        fixture, found = _read_fixture(path)
        problems += found
        if fixture is not None:
            fixtures.append(fixture)
    if problems:
        raise PolicyFixtureError(problems)
    return fixtures


def _contains(items: Iterable[str], needles: Iterable[str], label: str) -> list[str]:
    items = list(items)
    return [f"no {label} contains {n!r} (got {items})" for n in needles
            if not any(n in item for item in items)]


def _excludes(items: Iterable[str], needles: list[str], label: str) -> list[str]:
    items = list(items)
    return [f"a {label} contains {n!r}, which must not appear ({items})" for n in needles
            if any(n in item for item in items)]


def check(verdict: Decision | StepDecision, expected: dict[str, Any]) -> list[str]:
    """Every way ``verdict`` differs from ``expected``."""
    failures: list[str] = []
    if "allow" in expected and verdict.allow != expected["allow"]:
        failures.append(f"allow is {verdict.allow}, expected {expected['allow']} (deny: {list(verdict.deny)})")
    failures += _contains(verdict.deny, expected.get("deny_contains", []), "deny reason")
    if "deny_count" in expected and len(verdict.deny) != expected["deny_count"]:
        failures.append(f"{len(verdict.deny)} deny reasons, expected {expected['deny_count']}: {list(verdict.deny)}")
    failures += _excludes(verdict.deny, expected.get("deny_excludes", []), "deny reason")
    if isinstance(verdict, Decision):
        failures += _check_decision(verdict, expected)
    return failures


def _check_decision(decision: Decision, expected: dict[str, Any]) -> list[str]:
    failures: list[str] = []
    approvals = expected.get("approvals", {})
    if "count" in approvals and decision.approvals.count != approvals["count"]:
        failures.append(f"approvals.count is {decision.approvals.count}, expected {approvals['count']}")
    failures += _contains(decision.notes, expected.get("notes_contains", []), "note")
    failures += _excludes(decision.notes, expected.get("notes_excludes", []), "note")
    if "runtime_checks" in expected and list(decision.runtime_checks) != expected["runtime_checks"]:
        failures.append(f"runtime_checks {list(decision.runtime_checks)}, expected {expected['runtime_checks']}")
    if "risk_at_least" in expected and decision.risk < expected["risk_at_least"]:
        failures.append(f"risk {decision.risk} below {expected['risk_at_least']}")
    if "risk_below" in expected and decision.risk >= expected["risk_below"]:
        failures.append(f"risk {decision.risk} not below {expected['risk_below']}")
    return failures


def run_fixture(engine: PolicyEngine, fixture: Fixture) -> FixtureResult:
    """Evaluate one fixture on ``engine`` and compare."""
    if fixture.entrypoint == "step_decision":
        verdict: Decision | StepDecision = engine.evaluate_step(fixture.input)  # type: ignore[attr-defined]
    else:
        verdict = engine.decide(fixture.input)
    failures = check(verdict, fixture.expected)
    return FixtureResult(name=fixture.name, passed=not failures, failures=tuple(failures))


def run_fixtures(engine: PolicyEngine, directory: Path) -> list[FixtureResult]:
    """Run every fixture in ``directory`` on ``engine``; ``PolicyFixtureError`` naming it when
    it holds none (a suite that ran nothing is no pass, and "0 passed" alone says not why)."""
    fixtures = load_fixtures(directory)
    if not fixtures:
        raise PolicyFixtureError([f"fixtures directory {directory} holds no fixture "
                                  "(no *.json file)"])
    return [run_fixture(engine, f) for f in fixtures]


def fixture_suite(*, policies_dir: Path | None, policy_data: Mapping[str, Any] | None,
                  opa_url: str | None = None) -> FixtureSuite:
    """The fixtures for these settings' values, each set with the data it was written for."""
    from .factory import make_policy_engine

    own = Path(policies_dir) / "fixtures" if policies_dir else None
    directory = own if own is not None and _present(own) else SHIPPED_FIXTURES
    configured = directory != SHIPPED_FIXTURES or not policy_data
    engine = make_policy_engine(policies_dir=policies_dir, opa_url=opa_url,
                                policy_data=policy_data if configured else None)
    return FixtureSuite(directory=directory, engine=engine, configured_data=configured)


def _present(path: Path) -> bool:
    """Whether ``path`` is there in any form: a ``fixtures`` file or a link to nothing beside
    a policies_dir is its fixtures, which cannot be read (``fixture_paths`` says so), not a
    sign to run Baton's own instead (and pass)."""
    try:
        os.lstat(path)
    except OSError as exc:
        return exc.errno not in (errno.ENOENT, errno.ENOTDIR)  # one not looked at is named
    return True

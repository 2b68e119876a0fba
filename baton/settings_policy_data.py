"""Checks of ``[policy.data]``: the keys Baton's shipped policies read must have the shape
they read.

A mistyped value does not fail alike on both engines: ``two_person_risk = "60"`` makes
the embedded interpreter fail (every plan denied, cause hidden), while OPA compares a
number with a string without an error and asks for one approver where two were due. So
``load_settings`` refuses such a value as a configuration error (exit 2) naming the key
and the type it must have. ``[policy.data]`` replaces whole top-level keys, so a table
of the shipped data (``approval``, ``risk``, ``limits``, ``batch_window``) must give
every key the policies read; keys of its own beyond those are left alone, and so are
top-level keys Baton does not know (data for policies of one's own). Values are never
quoted: policy data may hold something secret. Host patterns (``egress_allowlist``,
``secret_destinations``, ``host_regions``) must be ASCII: the rules read them in any case
and without a trailing dot, as they read hosts, but a host is judged in the IDNA form
requests send (``xn--...``), which no rule can make of ``bücher.example``; an IP address
must be written as hosts are judged (``2001:db8::1``, ``203.0.113.5``), never
``[2001:DB8:0::1]`` or ``3405803781``; and a pattern is a host alone, or ``*.domain``: with
a port, scheme, path or user name it matched no host. ``approval.roles`` must name a role.

``policies_problems`` checks, the same way, the policies the engine will judge with: a
``policies_dir`` whose files cannot be read or whose data file has a known key of the
wrong shape, and, for the embedded engine, ``secret_patterns`` it cannot use as regular
expressions and policies it cannot compile (a rule in Rego v0 syntax, a syntax error).
Accepted, each made every plan denied with a cause hard to trace, or worse. For a
``policies_dir`` of one's own, on both engines, a data key its files read that neither its
data file nor ``[policy.data]`` sets, and a ``[policy.data]`` key of another JSON type than
the data file's default for it, are refused too (``policies.data_references``): Rego reads
either as undefined, and a rule reading it never denied.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .settings_checks import policies_dir_problem
from .settings_users import toml_key

if TYPE_CHECKING:
    from policies.bundle import PolicyBundle

Problem = tuple[str, str]
Check = Callable[[Any, str], list[Problem]]


def _kind(value: Any) -> str:
    """What a TOML value is, in words (never the value itself)."""
    if isinstance(value, bool):
        return "true or false"
    if value is None:  # a data file's YAML or JSON null (TOML has none)
        return "null"
    kinds = {str: "a string", int: "a number", float: "a number", list: "an array",
             dict: "a table"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), "a date or time")


def _scalar(wanted: str, accepts: Callable[[Any], bool]) -> Check:
    def check(value: Any, key: str) -> list[Problem]:
        return [] if accepts(value) else [(key, f"must be {wanted}, not {_kind(value)}")]
    return check


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


STRING = _scalar("a string", lambda v: isinstance(v, str))
NUMBER = _scalar("a number", _is_number)
WHOLE = _scalar("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool))
BOOLEAN = _scalar("true or false", lambda v: isinstance(v, bool))


def _array(of: Check, wanted: str) -> Check:
    def check(value: Any, key: str) -> list[Problem]:
        if not isinstance(value, list):
            return [(key, f"must be {wanted}, not {_kind(value)}")]
        return [p for index, item in enumerate(value) for p in of(item, f"{key}[{index}]")]
    return check


def _table(of: Check, wanted: str, *, names: Check | None = None) -> Check:
    """A table whose keys are names of one's choosing (roles, secrets, hosts, tags), each
    checked by ``names`` when given."""
    def check(value: Any, key: str) -> list[Problem]:
        if not isinstance(value, dict):
            return [(key, f"must be {wanted}, not {_kind(value)}")]
        return [p for name, item in value.items()
                for p in [*(names(name, f"{key}.{toml_key(name)}") if names else []),
                          *of(item, f"{key}.{toml_key(name)}")]]
    return check


_NOT_ASCII_HOST = ("must be written in ASCII: hosts are judged by the name requests send, so "
                   "write a host name with other letters in its IDNA form (xn--...); as it is, "
                   "it would match no host")


def _host_pattern(value: Any, key: str) -> list[Problem]:
    """A host pattern: any case and a trailing dot are read aside by the rules
    (common.rego), but they cannot turn ``bücher.example`` into ``xn--bcher-kva.example``,
    nor an IP address into the one spelling hosts are judged in (``policies.hosts``), nor
    ``db.example.com:8443`` or ``https://db.example.com`` into the host alone."""
    if not isinstance(value, str):
        return [(key, f"must be a string, not {_kind(value)}")]
    if not value.isascii():
        return [(key, _NOT_ASCII_HOST)]
    written = value.lower().rstrip(".")
    more = _more_than_a_host(written)
    if more:
        return [(key, more)]
    if not (written[:1] in "[0123456789" or ":" in written):
        return []  # no IP address: spared loading the policies package at every start
    from policies.hosts import address_form

    judged = address_form(written.removeprefix("[").removesuffix("]"))
    if judged == written:
        return []
    return [(key, f"is written {value!r}, but a host is judged in one spelling, here "
                  f"{judged!r} (an IP address compressed, in dotted decimal, without brackets); "
                  "as it is, it would match no host")]


def _more_than_a_host(written: str) -> str | None:
    """Why the pattern ``written`` (lower case) is more than a host, if it is: the rules
    compare it with the host alone, so a port, scheme, path or user name makes it match no
    host (a host_regions entry so written placed nothing in its region). Not quoted: a user
    name may come with a password; the host suggested is all the pattern should be."""
    from urllib.parse import urlsplit

    if not written:
        return "is empty; as it is, it would match no host"
    has_scheme = "://" in written
    try:
        parts = urlsplit(written if has_scheme else f"//{written}")
    except ValueError:  # an unbalanced bracket (``[2001:db8::1``): no URL, nor any host
        return "is no host: a '[' or ']' left open; as it is, it would match no host"
    hostinfo = parts.netloc.rpartition("@")[2]
    # Told by its colon, not by ``parts.port``: that raises on a port out of range, and on
    # an IPv6 address written without brackets, which is a host.
    port = "]:" in hostinfo if hostinfo.startswith("[") else hostinfo.count(":") == 1
    star = written.removeprefix("*.")
    why = next((what for what, there in (
        ("a scheme", has_scheme), ("user information", "@" in written),
        ("a path", bool(parts.path or parts.query or parts.fragment)
         or any(c in written for c in "/?#")),
        ("a port", port), ("a space", any(c.isspace() for c in written)),
        ("a * other than a leading '*.'", "*" in star)) if there), None)
    if why is None:
        return None
    host = (parts.hostname or "").rstrip(".")
    suggestion = f"; write {host!r}" if host and host != written else ""
    return (f"has {why}, but a host pattern is a host alone or *.domain, compared with the "
            f"host a request goes to; as it is, it would match no host{suggestion}")


def _record(fields: Mapping[str, Check], *, replaced_whole: bool = True) -> Check:
    """A table with fixed keys, each of which the policies read."""
    def check(value: Any, key: str) -> list[Problem]:
        if not isinstance(value, dict):
            return [(key, f"must be a table with {', '.join(fields)}, not {_kind(value)}")]
        why = (f": [policy.data] replaces the shipped {key.rsplit('.', 1)[-1]} table whole, so "
               f"give every key ({', '.join(fields)})"
               if replaced_whole and key.startswith(f"{SETTING}.") else "")
        problems = [(f"{key}.{name}", f"is missing{why}") for name in fields if name not in value]
        return problems + [p for name, field in fields.items() if name in value
                           for p in field(value[name], f"{key}.{name}")]
    return check


STRINGS = _array(STRING, "an array of strings")


def _roles(value: Any, key: str) -> list[Problem]:
    """``approval.roles``: with none, a plan needing approval could be approved by nobody."""
    if value == []:
        return [(key, "must name at least one role: with none, no plan that needs approval "
                      "could ever be approved")]
    return STRINGS(value, key)


HOST_PATTERNS = _array(_host_pattern, "an array of strings")
SETTING = "policy.data"

# The keys of policies/rego/data.yaml and the shape the shipped rules read them in.
SHAPES: dict[str, Check] = {
    "role_tools": _table(STRINGS, "a table of role = [tool patterns]"),
    "egress_allowlist": HOST_PATTERNS,
    "secret_destinations": _table(HOST_PATTERNS, "a table of secret name = [host patterns]"),
    "approval": _record({"roles": _roles, "two_person_risk": NUMBER}),
    "risk": _record({"per_step": NUMBER, "write": NUMBER,
                     "tags": _table(NUMBER, "a table of tag = number"),
                     "large_plan_steps": WHOLE, "large_plan": NUMBER}),
    "limits": _record({"max_steps": WHOLE, "max_write_steps": WHOLE}),
    "batch_window": _record({"start_hour": WHOLE, "end_hour": WHOLE, "weekends": BOOLEAN}),
    "tool_regions": _table(STRING, "a table of tool = region"),
    "host_regions": _table(STRING, "a table of host pattern = region", names=_host_pattern),
    "secret_patterns": _array(_record({"kind": STRING, "pattern": STRING}, replaced_whole=False),
                              "an array of tables with kind and pattern"),
    "sensitive_key_words": STRINGS,
    "sensitive_key_names": STRINGS,
    "ordinary_key_names": STRINGS,
    "location_key_words": STRINGS,
    "location_key_names": STRINGS,
    "sensitive_value_min_length": WHOLE,
    "sensitive_value_min_entropy": NUMBER,
}


def policy_data_problems(policy_data: Mapping[str, Any]) -> list[Problem]:
    """(setting, problem) for each known ``[policy.data]`` key of the wrong shape, and for
    each NaN, infinity, date or time anywhere in it, known key or not."""
    return _shape_problems(policy_data, SETTING) + _not_json(policy_data, SETTING)


def _shape_problems(data: Mapping[str, Any], prefix: str) -> list[Problem]:
    """(key, problem) for each known key of ``data`` of the wrong shape."""
    return [problem for key, value in data.items() if key in SHAPES
            for problem in SHAPES[key](value, f"{prefix}.{key}" if prefix else key)]


def policies_problems(policies_dir: Path | None, policy_data: Mapping[str, Any], *,
                      embedded: bool, compile_them: bool = True) -> list[Problem]:
    """(setting, problem) for the policies the engine will judge with, as the module says.

    A data file's key is named with the file, under ``policies_dir``; a key that
    ``[policy.data]`` replaces is not checked there (its replacement is, by
    ``policy_data_problems``). The compile check (``compile_them``) builds what the engine
    will use, once per bundle and process, so a command that judges does not build it again.
    """
    from policies.bundle import PolicyBundle, PolicyBundleError

    if policies_dir is not None and policies_dir_problem(policies_dir) is not None:
        return []  # check_settings reports it
    file_data: Mapping[str, Any] = {}
    where = ""
    if policies_dir is not None:
        try:
            bundle = PolicyBundle.load(policies_dir)
        except PolicyBundleError as exc:
            return [("policies_dir", exc.message)]
        file_data = {key: value for key, value in bundle.data.items() if key not in policy_data}
        where = f"{bundle.data_file or policies_dir}: "
    problems = [("policies_dir", f"{where}{key} {problem}")
                for key, problem in _shape_problems(file_data, "")]
    if policies_dir is not None:
        problems += _unserved_rules(bundle, policy_data)
    if not embedded or problems:
        return problems
    problems = [*((f"{SETTING}.{key}", problem) for key, problem in _pattern_problems(policy_data)),
                *(("policies_dir", f"{where}{key} {problem}")
                  for key, problem in _pattern_problems(file_data))]
    if policies_dir is not None and compile_them and not problems:
        from policies.embedded import compile_problem

        cause = compile_problem(PolicyBundle.load(policies_dir, overrides=policy_data))
        if cause:
            problems.append(("policies_dir", f"{policies_dir}: {cause}"))
    return problems


def _unserved_rules(bundle: PolicyBundle, policy_data: Mapping[str, Any]) -> list[Problem]:
    """A ``[policy.data]`` key of another type than the data file's default for it, and a key
    a rule of ``bundle`` (a directory of one's own, read without the settings' data) reads
    that neither sets: Rego reads either as undefined, so a rule reading it never denies.
    Custom keys too: Baton's own are checked by ``SHAPES``, and a custom key without a
    default cannot be (nothing tells its type)."""
    from policies.bundle import data_file_name
    from policies.data_references import (mistyped, reference_problem, type_problem,
                                          unset_references)

    name = data_file_name(bundle.data_file)
    shown = str(bundle.data_file) if bundle.data_file else name
    problems = [(f"{SETTING}.{toml_key(key)}", type_problem(given, expected, shown))
                for key, given, expected in mistyped(bundle.data, policy_data)
                if key not in SHAPES]  # a known key's own check says what it must be
    unset = unset_references(bundle.modules, {**bundle.data, **policy_data})
    return problems + [("policies_dir", f"{bundle.directory}: {reference_problem(ref, name)}")
                       for ref in unset]


def _pattern_problems(data: Mapping[str, Any]) -> list[Problem]:
    """(key, problem) for each ``secret_patterns`` pattern the embedded engine cannot read.

    The interpreter's own check: its dialect is not Python's. The pattern is not quoted.
    """
    patterns = data.get("secret_patterns")
    listed = [(f"secret_patterns[{index}].pattern", item["pattern"])
              for index, item in enumerate(patterns if isinstance(patterns, list) else [])
              if isinstance(item, dict) and isinstance(item.get("pattern"), str)]
    if not listed:
        return []
    from policies.embedded import invalid_patterns
    from policies.engine import EngineFailure

    try:
        bad = set(invalid_patterns(pattern for _, pattern in listed))
    except EngineFailure as exc:  # not expected: said as a problem, not a traceback
        return [("secret_patterns", f"cannot be checked: {exc}")]
    return [(key, "is not a regular expression the embedded engine can read (it takes no "
                  "inline flags such as (?i)); every plan would be denied")
            for position, (key, _) in enumerate(listed) if position in bad]


_NOT_FINITE = ("must be a finite number: TOML's nan and inf have no JSON form, so the policies "
               "could not be given their data")
_DATE = ("must not be a date or time: JSON has none, so the policies could not be given their "
         "data; quote it to pass it as text")


def _not_json(value: Any, key: str) -> list[Problem]:
    """(key, problem) where ``value`` holds what JSON cannot: a NaN or an infinity (TOML's
    ``nan``, ``inf``), or a date or time (TOML's ``2024-01-01``)."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [(key, _NOT_FINITE)]
    if isinstance(value, dict):
        return [found for name, item in value.items()
                for found in _not_json(item, f"{key}.{toml_key(name)}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value)
                for found in _not_json(item, f"{key}[{index}]")]
    if isinstance(value, date | time):  # datetime is a date
        return [(key, _DATE)]
    return []

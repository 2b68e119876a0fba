"""Where data residency places one call, read from the policy data as ``common.rego`` reads it.

The executor checks a read at run time only when residency places it in a region
(``step_region`` in ``common.rego``: the data's ``tool_regions[tool]``, then the region of
the host it calls from ``host_regions``, then the region the tool declares): a read
placed nowhere receives no region's data by residency's rules and is not held up. The
executor cannot read the policy data itself, so the engines answer for it with this
function, over the data of the bundle they judge with. It must read the data exactly as
the rules do: a region it missed would let data of another region reach the call unjudged
(tests/policies/test_step_region_matches_the_rules.py holds both to the same cases).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .long_strings import readable


class UnknownRegion(ValueError):
    """The data is not of the shape the rules read, or gives a host two regions."""


def step_region(data: Mapping[str, Any], tool: str, host: str | None,
                declared: str | None) -> Any:
    """The region ``step_region`` gives a call of ``tool`` to ``host`` (None: no region).

    ``host`` is the call's as ``policies.hosts.url_host`` gives it (lower case, no trailing
    dot, IDNA, an IP address in one spelling). ``UnknownRegion`` when it cannot be told as the rules would: the caller
    then treats the call as placed in a region (fails closed).
    """
    tool_regions = _table(data, "tool_regions")
    tool = readable(tool)  # the engines read every string of the input so
    if tool in tool_regions:
        return tool_regions[tool]
    if host is not None:
        host = readable(host)
        regions = [r for pattern, r in _table(data, "host_regions").items()
                   if host_matches(pattern, host)]
        if any(r != regions[0] for r in regions):
            # The rules' host_region has more than one answer, which fails their evaluation:
            # the call is denied once asked, as it should be.
            raise UnknownRegion(f"host {host} matches patterns of several regions")
        if regions:
            return regions[0]
    return declared


def regions_hosts_may_have(data: Mapping[str, Any]) -> frozenset[Any]:
    """The regions ``host_region`` of ``common.rego`` may give a host: the values of
    ``host_regions``. A host not known yet (its URL from an output not there) may be in any
    of them, and is in none when there are none. ``UnknownRegion`` when the data is not of
    the shape the rules read."""
    try:
        # A null region places no host (step_region gives none); any other value is a region.
        return frozenset(r for r in _table(data, "host_regions").values() if r is not None)
    except TypeError as exc:  # a list or table as a region: the rules would compare it
        raise UnknownRegion("a region in host_regions that is not a plain value") from exc


def host_matches(pattern: Any, host: str) -> bool:
    """``host_matches`` of ``common.rego``: an exact host, or ``*.domain`` for any sub-domain,
    the pattern read in lower case without a trailing dot."""
    if not isinstance(pattern, str):
        raise UnknownRegion("a host pattern that is not a string")
    p = pattern.lower().rstrip(".")
    return p == host or (p.startswith("*.") and host.endswith(p[1:]))


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise UnknownRegion(f"{key} is not a table")
    return value

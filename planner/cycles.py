"""Finding cycles in a step graph: one named cycle per knot of mutually dependent steps."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence


def strongly_connected(order: Sequence[str], waits_for: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a 1,000-step chain must not hit the recursion limit).

    Returns the components of more than one step, each sorted by plan order.
    """
    position = {node: i for i, node in enumerate(order)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in order:
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(waits_for.get(root, ()), key=position.get))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(waits_for.get(nxt, ()), key=position.get)))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component, key=position.__getitem__))
    found.sort(key=lambda comp: position[comp[0]])
    return found


def shortest_cycle(start: str, members: set[str], waits_for: Mapping[str, set[str]]) -> list[str]:
    """The shortest cycle through ``start`` inside ``members``, in run order, ``start`` repeated last.

    In run order each step waits for the one before it: ``a → b`` means b needs a.
    """
    feeds: dict[str, list[str]] = {m: [] for m in members}
    for node in members:
        for dep in waits_for.get(node, ()):
            if dep in members:
                feeds[dep].append(node)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(feeds[node]):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return [start, start]  # unreachable for a genuine component; kept total for safety


def find_cycles(order: Sequence[str], waits_for: Mapping[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """For each knot: ``(cycle in run order from its earliest step, all steps in the knot)``."""
    result = []
    for component in strongly_connected(order, waits_for):
        cycle = shortest_cycle(component[0], set(component), waits_for)
        result.append((cycle, component))
    return result

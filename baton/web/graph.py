"""Pure layout of a plan's steps as a graph: columns by topological level.

Computed in Python so the page needs no JavaScript layout library; the
template draws the result as inline SVG.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from planner.plan import Plan, is_reference
from planner.problems import printable

NODE_W = 170
NODE_H = 48
GAP_X = 60
GAP_Y = 22
PAD = 12


@dataclass(frozen=True)
class Node:
    """One step box."""

    id: str
    tool: str
    level: int
    x: int
    y: int
    index: int  # the step's position in the plan: its run step's too, whatever the ids


@dataclass(frozen=True)
class Edge:
    """A dependency arrow from the right side of one box to the left side of another."""

    source: str
    target: str
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Layout:
    """Boxes, arrows and the drawing's size."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    width: int
    height: int
    node_w: int = NODE_W
    node_h: int = NODE_H


def levels(plan: Plan) -> dict[str, int]:
    """Each step's level: 0 without known dependencies, else one more than its deepest one."""
    known = {step.id for step in plan.steps}
    by_id = {step.id: step for step in plan.steps}
    level: dict[str, int] = {}
    try:
        order = plan.topological_order()
    except ValueError:
        order = [step.id for step in plan.steps]  # a cycle: draw in plan order, flat
        return {sid: 0 for sid in order}
    for sid in order:
        deps = [d for d in by_id[sid].dependencies() if d in known]
        level[sid] = 1 + max((level[d] for d in deps), default=-1)
    return level


def layout(plan: Plan) -> Layout:
    """Place steps in columns by level, rows by plan order; arrows for every dependency."""
    level = levels(plan)
    rows: dict[int, int] = {}
    nodes: dict[str, Node] = {}
    for index, step in enumerate(plan.steps):
        lvl = level.get(step.id, 0)
        row = rows.get(lvl, 0)
        rows[lvl] = row + 1
        nodes[step.id] = Node(id=step.id, tool=step.tool, level=lvl, index=index,
                              x=PAD + lvl * (NODE_W + GAP_X), y=PAD + row * (NODE_H + GAP_Y))
    edges = []
    for step in plan.steps:
        for dep in step.dependencies():
            if dep in nodes:
                a, b = nodes[dep], nodes[step.id]
                edges.append(Edge(source=dep, target=step.id, x1=a.x + NODE_W,
                                  y1=a.y + NODE_H // 2, x2=b.x, y2=b.y + NODE_H // 2))
    columns = max(level.values(), default=0) + 1
    height_rows = max(rows.values(), default=1)
    return Layout(nodes=tuple(nodes.values()), edges=tuple(edges),
                  width=2 * PAD + columns * NODE_W + (columns - 1) * GAP_X,
                  height=2 * PAD + height_rows * NODE_H + (height_rows - 1) * GAP_Y)


def render_args(value: Any) -> Markup:
    """Arguments as HTML: references become links to the referenced step's row.

    Keys and values are written as ``printable`` writes them (control and format characters
    escaped), as the templates write every other text: built here as HTML, they are not
    passed through the templates' ``finalize``.
    """
    if is_reference(value) and isinstance(value["ref"], str):
        ref = printable(value["ref"])
        step = ref.split(".", 1)[0]  # as the row's id is written: printable(step id)
        return Markup('<a class="ref" href="#step-{}">{}</a>').format(step, "⟶ " + ref)
    if isinstance(value, dict):
        if not value:
            return Markup("<code>{}</code>")
        items = Markup("").join(
            Markup("<li><span class=\"key\">{}</span>: {}</li>").format(printable(str(key)),
                                                                       render_args(item))
            for key, item in value.items())
        return Markup('<ul class="args">{}</ul>').format(items)
    if isinstance(value, list | tuple):
        if not value:
            return Markup("<code>[]</code>")
        items = Markup("").join(Markup("<li>{}</li>").format(render_args(i)) for i in value)
        return Markup('<ol class="args">{}</ol>').format(items)
    return Markup("<code>{}</code>").format(printable(json.dumps(value, ensure_ascii=False)))

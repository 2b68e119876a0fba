"""Plan diffs: which steps were added, removed or changed (and where), plus a text diff."""

from __future__ import annotations

import difflib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .plan import Plan, canonical_json


class StepChange(BaseModel):
    """One step present in both plans whose content differs."""

    model_config = ConfigDict(frozen=True)

    step: str = Field(description="Step id.")
    paths: tuple[str, ...] = Field(
        description="JSON paths inside the step that differ, e.g. $.args.url, $.tool."
    )


class PlanDiff(BaseModel):
    """Structured and textual difference between two plans."""

    model_config = ConfigDict(frozen=True)

    goal_changed: bool = Field(description="True when the goals differ.")
    added: tuple[str, ...] = Field(default=(), description="Step ids only in the newer plan.")
    removed: tuple[str, ...] = Field(default=(), description="Step ids only in the older plan.")
    changed: tuple[StepChange, ...] = Field(default=(), description="Steps in both that differ.")
    reordered: bool = Field(default=False, description="True when common steps changed order.")
    text: str = Field(description="Unified diff of the canonical pretty JSON of both plans.")

    @property
    def empty(self) -> bool:
        """True when the plans are the same."""
        return not (self.goal_changed or self.added or self.removed or self.changed
                    or self.reordered)


def pretty_json(plan: Plan) -> str:
    """The plan's wire form as sorted, indented JSON (what the text diff compares)."""
    return json.dumps(plan.to_wire(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def diff_plans(a: Plan, b: Plan, *, a_label: str = "a", b_label: str = "b") -> PlanDiff:
    """How ``b`` differs from ``a``."""
    old = {s.id: s.model_dump(mode="json", exclude_defaults=True) for s in a.steps}
    new = {s.id: s.model_dump(mode="json", exclude_defaults=True) for s in b.steps}
    common_old = [sid for sid in old if sid in new]
    common_new = [sid for sid in new if sid in old]
    changed = tuple(
        StepChange(step=sid, paths=paths) for sid in common_new
        if (paths := tuple(changed_paths(old[sid], new[sid], "$")))
    )
    text = "".join(difflib.unified_diff(
        pretty_json(a).splitlines(keepends=True), pretty_json(b).splitlines(keepends=True),
        fromfile=a_label, tofile=b_label,
    ))
    return PlanDiff(
        goal_changed=a.goal != b.goal,
        added=tuple(sid for sid in new if sid not in old),
        removed=tuple(sid for sid in old if sid not in new),
        changed=changed, reordered=common_old != common_new, text=text,
    )


def changed_paths(old: Any, new: Any, path: str) -> list[str]:
    """The deepest JSON paths at which ``old`` and ``new`` differ as canonical JSON.

    Python's ``==`` calls ``False == 0``, ``True == 1`` and ``1 == 1.0``, but their JSON
    (and so the plan hash an approval binds to) differs: the diff must show such a change.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[str] = []
        for key in sorted(set(old) | set(new)):
            if key in old and key in new:
                paths.extend(changed_paths(old[key], new[key], f"{path}.{key}"))
            else:
                paths.append(f"{path}.{key}")
        return paths
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        paths = []
        for index, (x, y) in enumerate(zip(old, new, strict=True)):
            paths.extend(changed_paths(x, y, f"{path}[{index}]"))
        return paths
    return [] if canonical_json(old) == canonical_json(new) else [path]

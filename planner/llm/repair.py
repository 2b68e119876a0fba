"""The repair request: what goes back to the model after a reply that is not a valid plan.

The conversation sent is the opening (the system prompt, then the goal or the revision
request), the latest failed reply and the problems found in it. Earlier failed replies
are left out: each would grow the request by a whole reply, and the problems sent back
are the latest reply's only.

A reply longer than ``max_echoed`` characters is not sent back whole: the model's context
is limited, and a reply of thousands of steps would crowd out the contract and the tools
(or be refused by the endpoint). Its turn keeps only its beginning, and the repair
message quotes what the model needs to fix the plan it wrote: the steps the listed
problems name, as it wrote them, and an outline of the plan (each step's id and tool),
each cut to a budget. The problem lines are cut too, whatever the reply: a problem may
quote a value the model wrote (a tool name 50 kB long).

Configured secret values are masked (``hide``) in all of it before anything is cut: a
cut through a secret leaves a piece that no later masking recognises. The error of a
planning that ran out of attempts lists its problems cut the same way
(:func:`bounded_problem`), and a refusal is quoted by its beginning (:func:`reply_head`):
either error is stored, recorded in the ledger and shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import structlog

from planner.problems import Problem, ProblemCode

from .client import Messages
from .prompt import MAX_PROBLEMS_LISTED, Hide, listed_problems

log = structlog.get_logger(__name__)

# Longest part of a problem line: ids are at most 40 characters, paths and messages
# short, unless they quote what the model wrote.
_STEP_CHARS, _PATH_CHARS, _MESSAGE_CHARS = 100, 300, 600
_HEAD_CHARS = 500  # the beginning of a reply too long to send back whole
_QUOTED_STEP_CHARS, _QUOTED_CHARS = 2_000, 8_000  # one quoted step; all of them
_QUOTED_TEXT_CHARS = 300  # one text inside a quoted step
_OUTLINE_ENTRY_CHARS, _OUTLINE_CHARS = 120, 4_000  # one "id (tool)"; the whole outline
_CUT_MARK = "… [N more characters]"
_STEP_INDEX = re.compile(r"\$\.steps\[(\d+)\]")


def repair_conversation(
    opening: Messages, reply: str, written: Sequence[Any], problems: Sequence[Problem], *,
    max_echoed: int, max_steps: int, hide: Hide,
) -> Messages:
    """The next request after ``reply`` (whose steps as written are ``written``) failed
    with ``problems``: ``opening``, then that reply, whole or cut, and the repair message."""
    if len(reply) <= max_echoed:
        return [*opening, {"role": "assistant", "content": reply},
                {"role": "user", "content": repair_message(problems, max_steps, hide)}]
    log.info("llm.reply_not_sent_back_whole", chars=len(reply), limit=max_echoed)
    head = reply_head(reply, max_echoed, hide)
    told = (f"Your previous reply is {len(reply):,} characters long, too long to send back "
            f"whole (the limit is {max_echoed:,}): only its beginning is shown above. Texts "
            f"cut short here end in '{_CUT_MARK}'; write them in full in your plan, never the "
            "mark.\n\n")
    return [*opening, {"role": "assistant", "content": head},
            {"role": "user", "content": repair_message(problems, max_steps, hide, told=told,
                                                       quoted=_quoted(written, problems, hide))}]


def reply_head(text: str, max_echoed: int, hide: Hide) -> str:
    """The beginning of ``text`` the model wrote, as it may be echoed when it is too long to
    repeat whole (a reply sent back for repair, a refusal quoted in an error): masked by
    ``hide``, then cut to at most ``_HEAD_CHARS`` characters (``max_echoed``, if fewer)."""
    return _cut(hide(text), min(_HEAD_CHARS, max_echoed))


def repair_message(problems: Sequence[Problem], max_steps: int, hide: Hide, *,
                   told: str = "", quoted: str = "") -> str:
    """The user message that sends the problems (the first few) back to the model:
    ``told`` goes first, ``quoted`` (the steps of a reply not sent back whole) after them."""
    def line(p: Problem) -> str:
        shown = bounded_problem(p, hide)
        return f"- code={p.code.value} step={shown.step or '-'} path={shown.path}: {shown.message}"

    lines = "\n".join(listed_problems(problems, line))
    if any(p.code is ProblemCode.TOO_MANY_STEPS for p in problems):
        ask = (f"Reply with a new complete plan of at most {max_steps} steps as JSON only: "
               "only the steps the goal needs.")
    else:
        ask = "Fix every problem and reply with the corrected complete plan as JSON only."
    return f"{told}Your plan is invalid. Problems ({len(problems)}):\n{lines}\n\n{quoted}{ask}"


def bounded_problem(problem: Problem, hide: Hide) -> Problem:
    """``problem`` with its step, path and message masked by ``hide``, then each cut to its
    budget (a problem may quote a value the model wrote, 50 kB long). Masked first: a cut
    through a secret leaves a piece that no later masking recognises."""
    step, path, message = hide([problem.step or "", problem.path, problem.message])
    return problem.model_copy(update={
        "step": _cut(step, _STEP_CHARS) if problem.step else problem.step,
        "path": _cut(path, _PATH_CHARS), "message": _cut(message, _MESSAGE_CHARS)})


def _quoted(written: Sequence[Any], problems: Sequence[Problem], hide: Hide) -> str:
    """The steps the listed problems name, as the model wrote them, then the plan's outline."""
    named = dict.fromkeys(int(m.group(1)) for p in problems[:MAX_PROBLEMS_LISTED]
                          if (m := _STEP_INDEX.match(p.path)) and int(m.group(1)) < len(written))
    parts: list[str] = []
    if named:
        quotes, used = [], 0
        for index in named:
            quote = f"$.steps[{index}]: {_quoted_step(written[index], hide)}"
            if used + len(quote) > _QUOTED_CHARS:
                quotes.append(f"... and {len(named) - len(quotes)} more step(s), not quoted")
                break
            quotes.append(quote)
            used += len(quote)
        parts.append("The steps these problems name, as you wrote them:\n" + "\n".join(quotes))
    if written:
        parts.append(f"Your plan's {len(written)} step(s) in order, id (tool): "
                     + _outline(written, hide))
    return "".join(f"{part}\n\n" for part in parts)


def _quoted_step(step: Any, hide: Hide) -> str:
    """``step`` as JSON, masked, each long text in it shortened (what a problem names may
    follow one), then cut; a step too deep to mask is not quoted.

    Masking and encoding recurse once per level, and the decoder accepts deeper values.
    """
    try:
        step = hide(step)
        shown = ({_shortened(k): _shortened_args_json(v) if k == "args_json" else _shortened(v)
                  for k, v in step.items()} if isinstance(step, dict) else _shortened(step))
        return _cut(json.dumps(shown, ensure_ascii=False), _QUOTED_STEP_CHARS)
    except RecursionError:
        return "(nested too deeply to quote)"


def _shortened_args_json(text: Any) -> Any:
    """An ``args_json`` with the texts inside it shortened, when it holds an object."""
    try:
        args = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        args = None
    if not isinstance(args, dict):
        return _shortened(text)
    return json.dumps(_shortened(args), ensure_ascii=False)


def _shortened(value: Any) -> Any:
    """``value`` with each text in it (keys too) cut to ``_QUOTED_TEXT_CHARS``."""
    if isinstance(value, str):
        return _cut(value, _QUOTED_TEXT_CHARS)
    if isinstance(value, dict):
        return {_shortened(k): _shortened(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shortened(v) for v in value]
    return value


def _outline(written: Sequence[Any], hide: Hide) -> str:
    """``id (tool)`` of each step, as many as fit the budget, then how many more;
    ``?`` for an id or tool that is not text."""
    entries: list[str] = []
    used = 0
    for step in written:
        named = [step.get(key) if isinstance(step, dict) else None for key in ("id", "tool")]
        id_, tool = hide([n if isinstance(n, str) else "?" for n in named])
        entry = _cut(f"{id_} ({tool})", _OUTLINE_ENTRY_CHARS)
        if used + len(entry) > _OUTLINE_CHARS:
            entries.append(f"... and {len(written) - len(entries)} more step(s)")
            break
        entries.append(entry)
        used += len(entry) + 2
    return ", ".join(entries)


def _cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}{_CUT_MARK.replace('N', f'{len(text) - limit:,}')}"

"""Score a planner on public benchmark data.

    python -m evals.planner --dataset seal-tools|bfcl [--limit N] [--planner llm|gold|damaged]
                            [--base-url URL --model NAME] [--out DIR]

``llm`` runs the LLM planner against an endpoint (``--base-url``/``--model``,
or ``BATON_LLM_BASE_URL``/``BATON_LLM_MODEL``; key from ``BATON_LLM_API_KEY``
or ``OPENAI_API_KEY``). ``gold`` and ``damaged`` run the same planner against
the scripted local server replaying the gold plans (every metric must be 1.0)
or plans with one deliberate mistake each (they must score lower). Writes
``<dataset>-<planner>.json`` and ``.md`` into ``--out``. Exits 1 when every
case errored (an unreachable endpoint, say), 2 on a usage error. Scores read
"n/a" (null in the JSON) until the model has answered at least once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from baton.settings_checks import llm_base_url_problem
from planner.llm import LLMConfig

from .cli import log_to_stderr, make_out_dir, positive_float, positive_int
from .datasets import load_cases
from .harness import aggregate, run_endpoint, run_replay, sample


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; ``--out`` is created here, before any case runs."""
    parser = argparse.ArgumentParser(prog="python -m evals.planner", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True, choices=["seal-tools", "bfcl"])
    parser.add_argument("--limit", type=positive_int, default=None, help="Cases to run (at least "
                        "1), spread evenly over the dataset (records whose own gold plan is "
                        "invalid are skipped).")
    parser.add_argument("--planner", default="llm", choices=["llm", "gold", "damaged"])
    parser.add_argument("--base-url", default=os.environ.get("BATON_LLM_BASE_URL"))
    parser.add_argument("--model", default=os.environ.get("BATON_LLM_MODEL", "gpt-4o-mini"))
    parser.add_argument("--timeout", type=positive_float, default=60.0,
                        help="Seconds per model request (above 0).")
    parser.add_argument("--max-tools", type=positive_int, default=20,
                        help="Tools offered per goal (at least 1).")
    parser.add_argument("--out", type=Path, default=Path(".baton/evals"))
    args = parser.parse_args(argv)
    args.llm = _llm_config(parser, args) if args.planner == "llm" else None
    make_out_dir(parser, args.out)
    return args


def _llm_config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> LLMConfig:
    """The endpoint's settings, checked before any case is loaded (a usage error, exit 2)."""
    if not args.base_url:
        parser.error("--planner llm needs --base-url or BATON_LLM_BASE_URL")
    # baton's own rule for llm.base_url: a URL the HTTP client refuses failed every case.
    problem = llm_base_url_problem(args.base_url)
    if problem:
        parser.error(f"argument --base-url (or BATON_LLM_BASE_URL): {problem}")
    if not args.model.strip():
        parser.error("argument --model: a model name is needed (--model or BATON_LLM_MODEL)")
    key = os.environ.get("BATON_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
    try:
        return LLMConfig(base_url=args.base_url, model=args.model, timeout_s=args.timeout,
                         api_key=SecretStr(key) if key else None,
                         max_tools_offered=args.max_tools)
    except ValidationError as exc:  # what the checks above and the argument types leave
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        parser.error(f"the LLM planner's settings are unusable ({problems})")


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Run the evaluation the arguments describe and return the result document."""
    cases, gold_invalid = sample(load_cases(args.dataset), args.limit)
    if args.llm is not None:
        results = run_endpoint(cases, args.llm)
        endpoint = {"base_url": args.llm.shown_url, "model": args.model}  # credentials as ***
    else:
        results = run_replay(cases, args.planner, {"max_tools_offered": args.max_tools})
        endpoint = {"base_url": "scripted local server", "model": f"replay of {args.planner} plans"}
    return {
        "dataset": args.dataset, "planner": args.planner, **endpoint,
        "gold_invalid_skipped": gold_invalid,
        "metrics": aggregate(results),
        "cases": [_case_row(r) for r in results],
    }


def _case_row(result: Any) -> dict[str, Any]:
    row = dict(vars(result))
    for name in ("tools", "args", "edges"):
        row[name] = row[name].as_dict()
    return row


def markdown(doc: dict[str, Any]) -> str:
    """The headline metrics as a Markdown table."""
    m = doc["metrics"]
    rows = [
        ("cases", m["cases"]),
        ("cases the model answered", m["answered_cases"]),
        ("gold plans skipped (invalid against the dataset's own schemas)",
         len(doc["gold_invalid_skipped"])),
        ("valid-plan rate", m["valid_plan_rate"]),
        ("attempts per plan", m["attempts_per_plan"]),
        ("tool P / R / F1", _prf(m["tool"])),
        ("argument P / R / F1", _prf(m["argument"])),
        ("edge P / R / F1", _prf(m["edge"])),
        ("model calls per plan", m["model_calls_per_plan"]),
        ("prompt / completion tokens per plan",
         f"{_fmt(m['prompt_tokens_per_plan'], '.0f')} / "
         f"{_fmt(m['completion_tokens_per_plan'], '.0f')}"),
        ("latency ms (mean / p50 / p95)",
         " / ".join(_fmt(v, ".1f") for v in m["latency_ms"].values()) if m["cases"] else None),
        ("gold tools among those offered", m["gold_tools_offered_rate"]),
        ("errors", m["errors"] or "none"),
    ]
    if m["damages"]:
        rows.append(("damages applied", m["damages"]))
    head = f"## {doc['dataset']} — planner `{doc['planner']}` ({doc['model']})\n\n"
    body = "\n".join(f"| {k} | {_fmt(v)} |" for k, v in rows)
    return head + "| metric | value |\n|---|---|\n" + body + "\n"


def _prf(counts: dict[str, float | None]) -> str | None:
    if counts["f1"] is None:
        return None  # the model never answered: nothing was measured
    return f"{counts['precision']:.3f} / {counts['recall']:.3f} / {counts['f1']:.3f}"


def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def main(argv: list[str] | None = None) -> int:
    """Run, write the JSON and Markdown results, print the table."""
    args = parse_args(argv)
    doc = evaluate(args)
    stem = args.out / f"{args.dataset}-{args.planner}"
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
    table = markdown(doc)
    stem.with_suffix(".md").write_text(table, encoding="utf-8")
    sys.stdout.write(table)
    return _failed(doc, stem.with_suffix(".json"))


def _failed(doc: dict[str, Any], path: Path) -> int:
    """1, with the reason on stderr, when there was no case or every case errored; else 0."""
    m = doc["metrics"]
    if m["cases"] and sum(m["errors"].values()) < m["cases"]:
        return 0
    if not m["cases"]:
        reason = "no case to run (every gold plan examined is invalid)"
    else:
        errors = ", ".join(f"{k}: {v}" for k, v in m["errors"].items())
        reason = f"every case errored ({errors}); details per case in {path}"
    sys.stderr.write(f"python -m evals.planner: {reason}\n")
    return 1


if __name__ == "__main__":
    from evals.data import run_cli

    log_to_stderr()
    raise SystemExit(run_cli(main, "python -m evals.planner"))

"""Recall@k of tool retrieval over the full Seal-Tools catalogue, and what an offered set costs.

    python -m evals.retrieval [--k 5 10 20] [--out DIR]

For each of the 700 goals: the share of its gold tools among the top k
(recall@k, averaged) and whether all of them are there (all@k). Prompt cost is
the tools section of the system prompt for the top k tools, in tokens:
tiktoken's ``o200k_base`` when installed, else characters / 4 (the result
says which).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from planner.llm.prompt import tools_section
from planner.retrieval import LexicalRanker

from .cli import log_to_stderr, make_out_dir, positive_int
from .datasets.seal_tools import catalogue, goals_with_gold_calls


def token_counter() -> tuple[str, Any]:
    """A token counting function and its name."""
    try:
        import tiktoken

        encoding = tiktoken.get_encoding("o200k_base")
        return "tiktoken o200k_base", lambda text: len(encoding.encode(text))
    except Exception:  # not installed, or its data cannot be fetched offline
        return "estimate: characters / 4", lambda text: len(text) / 4


def evaluate(ks: list[int]) -> dict[str, Any]:
    """Recall@k, all@k and prompt tokens for each k."""
    registry = catalogue()
    specs = list(registry)
    ranker = LexicalRanker()
    ranker.index(specs)  # built once, outside the per-goal timings
    top = max(ks)
    recall: dict[int, list[float]] = {k: [] for k in ks}
    complete: dict[int, list[bool]] = {k: [] for k in ks}
    tokens: dict[int, list[float]] = {k: [] for k in ks}
    method, count = token_counter()
    started = time.perf_counter()
    goals, without_gold = goals_with_gold_calls()
    for record in goals:
        gold = {call["api"] for call in record["calling"]}
        ranked = ranker.rank(record["query"], specs, top)
        for k in ks:
            hits = gold & set(ranked[:k])
            recall[k].append(len(hits) / len(gold))
            complete[k].append(hits == gold)
            if len(tokens[k]) < 100:  # the cost varies little; 100 goals are plenty
                tokens[k].append(count(tools_section([registry.get(n).info() for n in ranked[:k]])))
    elapsed = time.perf_counter() - started
    return {
        "catalogue_tools": len(specs), "goals": len(goals),
        "goals_without_gold_calls": without_gold, "ranker": "LexicalRanker (BM25)",
        "token_count": method,
        "rank_ms_per_goal": elapsed * 1000 / len(goals),
        "full_catalogue_prompt_tokens": count(tools_section([s.info() for s in specs[:200]]))
        * len(specs) / 200,
        "by_k": {k: {"recall": statistics.fmean(recall[k]),
                     "all_gold_offered": statistics.fmean(complete[k]),
                     "prompt_tokens_mean": statistics.fmean(tokens[k])} for k in ks},
    }


def markdown(doc: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    lines = [f"## Tool retrieval on Seal-Tools ({doc['catalogue_tools']} tools, {doc['goals']} goals)",
             "", "| k | recall@k | all gold tools offered | prompt tokens (tools section) |",
             "|---|---|---|---|"]
    for k, row in doc["by_k"].items():
        lines.append(f"| {k} | {row['recall']:.3f} | {row['all_gold_offered']:.3f} | "
                     f"{row['prompt_tokens_mean']:.0f} |")
    lines += ["", f"Tokens: {doc['token_count']}. Whole catalogue in the prompt: about "
              f"{doc['full_catalogue_prompt_tokens']:.0f} tokens. Ranking: "
              f"{doc['rank_ms_per_goal']:.2f} ms per goal (tokens counted in the same loop)."]
    skipped = doc["goals_without_gold_calls"]
    if skipped:
        lines.append(f"{skipped} goal{'s' if skipped > 1 else ''} without gold calls skipped.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run, write ``retrieval.json`` and ``retrieval.md``, print the table."""
    parser = argparse.ArgumentParser(prog="python -m evals.retrieval")
    parser.add_argument("--k", type=positive_int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--out", type=Path, default=Path(".baton/evals"))
    args = parser.parse_args(argv)
    make_out_dir(parser, args.out)
    doc = evaluate(sorted(set(args.k)))
    (args.out / "retrieval.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    table = markdown(doc)
    (args.out / "retrieval.md").write_text(table, encoding="utf-8")
    sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    from evals.data import run_cli

    log_to_stderr()
    raise SystemExit(run_cli(main, "python -m evals.retrieval"))

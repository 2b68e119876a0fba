"""``python -m evals.policies [--out DIR] [--opa-url URL]``: run the corpus, write JSON + Markdown."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from policies.factory import make_policy_engine

from ..cli import log_to_stderr, make_out_dir
from .registry import policy_registry
from .runner import PolicyCorpusError, PolicyEngineFailure, run_corpus, to_markdown


def main(argv: list[str] | None = None) -> int:
    """Run the corpus on the shipped policies; exit 1 when anything was missed or refused wrongly.

    Exit 2 when a corpus case cannot be judged (an unknown ``expect``), when the engine
    answers with an engine error (an unreachable OPA server), or when ``--out`` is unusable.
    """
    parser = argparse.ArgumentParser(prog="python -m evals.policies", description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="Directory for report.json/report.md.")
    parser.add_argument("--opa-url", default=None, help="Evaluate on this OPA server instead.")
    args = parser.parse_args(argv)
    if args.out:
        make_out_dir(parser, args.out)
    engine = make_policy_engine(opa_url=args.opa_url)
    try:
        summary = run_corpus(engine, policy_registry())
    except (PolicyCorpusError, PolicyEngineFailure) as exc:
        sys.stderr.write(f"python -m evals.policies: {exc.message}\n")
        return 2
    markdown = to_markdown(summary)
    if args.out:
        (args.out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
        (args.out / "report.md").write_text(markdown)
    sys.stdout.write(markdown)
    perfect = summary["caught"] == summary["unsafe"] and summary["false_positives"] == 0
    return 0 if perfect else 1


if __name__ == "__main__":
    log_to_stderr()
    sys.exit(main())

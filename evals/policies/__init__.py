"""Policy evals: a corpus of benign and unsafe plans, reporting catch and false-positive rates."""

from .registry import policy_registry
from .runner import (
    CaseResult,
    PolicyCorpusError,
    PolicyEngineFailure,
    check_cases,
    load_corpus,
    run_case,
    run_corpus,
    summarise,
    to_markdown,
)

__all__ = ["CaseResult", "PolicyCorpusError", "PolicyEngineFailure", "check_cases", "load_corpus",
           "policy_registry", "run_case", "run_corpus", "summarise", "to_markdown"]

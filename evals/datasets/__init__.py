"""Benchmark loaders: each record becomes a goal, a tool catalogue and a gold plan."""

from .base import EvalCase, GoldArg, GoldCall, GoldDict, gold_args, gold_value

__all__ = ["EvalCase", "GoldArg", "GoldCall", "GoldDict", "gold_args", "gold_value", "load_cases"]


def load_cases(dataset: str, limit: int | None = None) -> list[EvalCase]:
    """Cases of ``dataset`` (``seal-tools`` or ``bfcl``), the first ``limit`` of them."""
    if dataset == "seal-tools":
        from .seal_tools import load_cases as load
    elif dataset == "bfcl":
        from .bfcl import load_cases as load
    else:
        raise ValueError(f"unknown dataset {dataset!r}: choose seal-tools or bfcl")
    return load(limit)

"""Where the benchmark data lives: ``BATON_EVALS_DATA``, else ``shared/evals`` above the project."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from tools import BatonError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class EvalDataError(BatonError):
    """The benchmark data cannot be found or read."""

    code = "eval_data"


def data_dir() -> Path:
    """The folder holding ``seal-tools/`` and ``bfcl/`` (never copied into the project)."""
    explicit = os.environ.get("BATON_EVALS_DATA")
    if explicit:
        path = Path(explicit)
        if not path.is_dir():
            raise EvalDataError(f"BATON_EVALS_DATA={explicit} is not a directory")
        return path
    for folder in (PROJECT_ROOT, *PROJECT_ROOT.parents):
        candidate = folder / "shared" / "evals"
        if candidate.is_dir():
            return candidate
    raise EvalDataError(
        "no evaluation data: set BATON_EVALS_DATA or put shared/evals/ beside the project"
    )



def data_file(*parts: str) -> Path:
    """A file under :func:`data_dir`; ``EvalDataError`` naming it when it is not there."""
    path = data_dir().joinpath(*parts)
    if not path.is_file():
        raise EvalDataError(f"benchmark data file {path} is missing")
    return path


def run_cli(main: Callable[[], int], prog: str) -> int:
    """``main()``'s exit code; missing benchmark data is one line on stderr and exit 2, not a traceback."""
    try:
        return main()
    except EvalDataError as exc:
        sys.stderr.write(f"{prog}: error: {exc.message}\n")
        return 2

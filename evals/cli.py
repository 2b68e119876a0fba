"""What every eval command line shares: checked numbers, a usable ``--out``, logs on stderr."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from baton.logging import configure_logging


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is below 1")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number above 0")
    return value


def make_out_dir(parser: argparse.ArgumentParser, path: Path) -> Path:
    """Create ``--out`` before anything runs: finding it unusable after every case is too late."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"argument --out: {path} cannot be used as a folder ({exc.strerror})")
    return path


def log_to_stderr() -> None:
    """Send log lines to stderr: on stdout they land in the printed tables."""
    configure_logging("info")  # its default stream is stderr

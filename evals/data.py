"""Where the benchmark data lives: ``BATON_EVALS_DATA``, else ``shared/evals`` above the project."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from tools import BatonError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


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


# A record's own check: the problem with it in a few words, or None when it is fine.
RecordCheck = Callable[[dict[str, Any]], str | None]
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
               int: "a number", float: "a number", type(None): "null"}


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type ("an array"), for messages about the data."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def field_problem(record: dict[str, Any], fields: Mapping[str, type]) -> str | None:
    """What is wrong with ``record``'s ``fields`` (each must be there, of its type), if anything."""
    if not isinstance(record, dict):
        return f"expected a JSON object, found {json_type(record)}"
    for key, kind in fields.items():
        if key not in record:
            return f"no {key!r} field"
        if not isinstance(record[key], kind):
            return f"{key!r} is {json_type(record[key])}, expected {_JSON_TYPES[kind]}"
    return None


def read_json_lines(path: Path, fields: Mapping[str, type], check: RecordCheck | None = None,
                    limit: int | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` records of a JSON Lines file, with ``fields`` and passing ``check``.

    A line that is not UTF-8 or not JSON, or a record that lacks a field the loaders use, is
    an ``EvalDataError`` naming the file and line (and the byte offset of a byte that is not
    UTF-8): downloaded data gets damaged, and a KeyError or UnicodeDecodeError deep in a
    loader says neither where nor what.
    """
    records: list[dict[str, Any]] = []
    with path.open("rb") as handle:  # bytes: a byte that is not UTF-8 is named by its offset
        offset = 0
        for lineno, raw in enumerate(handle, start=1):
            if limit is not None and len(records) >= limit:
                break
            line = _utf8_line(path, lineno, raw, offset)
            offset += len(raw)
            if not line.strip():
                continue
            try:
                record = json.loads(line.rstrip())  # a cut line: its column, not "line 2"
            except json.JSONDecodeError as exc:
                raise EvalDataError(
                    f"{path}:{lineno}: not JSON ({exc.msg}, column {exc.colno})") from None
            problem = field_problem(record, fields) or (check(record) if check else None)
            if problem:
                raise EvalDataError(f"{path}:{lineno}: {problem}")
            records.append(record)
    return records


def _utf8_line(path: Path, lineno: int, raw: bytes, offset: int) -> str:
    """Line ``lineno`` of ``path`` (starting at byte ``offset``) as text; ``EvalDataError``
    naming the first byte that is not UTF-8 by its offset in the file (a hex editor's)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvalDataError(f"{path}:{lineno}: not UTF-8 ({exc.reason} 0x{raw[exc.start]:02x} "
                            f"at byte offset {offset + exc.start})") from None


def built_case(build: Callable[[], T], where: Path, record_id: str) -> T:
    """``build()``: one record made a case; what the record checks let through and the case
    still cannot be made of (a goal or a catalogue Baton refuses) is an ``EvalDataError``
    naming the record, one line, never a traceback nor a different exit code."""
    try:
        return build()
    except EvalDataError:
        raise
    except (BatonError, ValueError, TypeError, AttributeError, KeyError) as exc:
        said = exc.message if isinstance(exc, BatonError) else str(exc)
        raise EvalDataError(f"{where}: record {record_id!r} cannot be made a case: "
                            f"{' '.join(said.split())[:300]}") from None


def run_cli(main: Callable[[], int], prog: str) -> int:
    """``main()``'s exit code; missing benchmark data is one line on stderr and exit 2, not a traceback."""
    try:
        return main()
    except EvalDataError as exc:
        sys.stderr.write(f"{prog}: error: {exc.message}\n")
        return 2

"""A policy bundle: the Rego modules and the data they read, with one hash for both."""

from __future__ import annotations

import copy
import errno
import fnmatch
import hashlib
import json
import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from planner.loading import read_scalars_as_json
from planner.plan import canonical_json
from tools import BatonError

SHIPPED_DIR = Path(__file__).parent / "rego"
SHIPPED_FIXTURES = Path(__file__).parent / "fixtures"
DATA_ROOT = "baton_config"  # the data lands at data.baton_config
DATA_FILES = ("data.json", "data.yaml", "data.yml")
# Deeper data reaches Python's recursion limit when it is hashed; policy data has no use for it.
MAX_DATA_DEPTH = 100


class PolicyBundleError(BatonError):
    """The policy files cannot be read (missing directory, unreadable or malformed data)."""

    code = "policy_bundle"


@dataclass(frozen=True)
class PolicyBundle:
    """Rego modules (name → source) plus the merged data, identified by ``bundle_hash``."""

    directory: Path
    modules: tuple[tuple[str, str], ...]
    data: Mapping[str, Any]
    data_file: Path | None = None  # where ``data`` was read from, for messages; None: no file

    @classmethod
    def load(cls, directory: Path | None = None, *, overrides: Mapping[str, Any] | None = None
             ) -> PolicyBundle:
        """Read ``*.rego`` and the data file from ``directory`` (default: the shipped policies).

        ``overrides`` (settings' ``policy_data``) replace top-level keys of the data. A file
        that cannot be read, or data that is not JSON data, is a ``PolicyBundleError`` naming
        the file. Given ``overrides``, the data is the one the engine will judge with: a
        key the rules of a directory of one's own read that it does not set, or an override
        of another type than the data file's default, is a ``PolicyBundleError`` too (Rego
        reads either as undefined, and a rule reading it never denies).
        """
        root = Path(directory) if directory else SHIPPED_DIR
        files = rego_files(root)
        if not files:
            raise PolicyBundleError(f"policies directory {str(root)!r} holds no .rego files")
        modules = tuple((f.name, _read_module(f)) for f in files)
        data_file, data = _read_data(root)
        if overrides is not None:
            from .data_references import bundle_problems

            # The shipped rules read only keys the shipped data sets (a test says so).
            problems = bundle_problems(modules, data, overrides, data_file_name(data_file),
                                       references=root != SHIPPED_DIR)
            if problems:
                raise PolicyBundleError(f"the policy data of {str(root)!r} does not serve its "
                                        f"rules: {'; '.join(problems)}")
        return cls(directory=root, modules=modules, data={**data, **dict(overrides or {})},
                   data_file=data_file)

    @property
    def bundle_hash(self) -> str:
        """SHA-256 over the sorted (file name, content) pairs and the canonical data."""
        digest = hashlib.sha256()
        for name, source in sorted(self.modules):
            digest.update(canonical_json([name, source]).encode("utf-8"))
        digest.update(canonical_json(dict(self.data)).encode("utf-8"))
        return digest.hexdigest()

    @property
    def fixtures_dir(self) -> Path:
        """Where this bundle's fixtures live: ``fixtures/`` beside custom policies, else shipped."""
        custom = self.directory / "fixtures"
        return custom if custom.is_dir() else SHIPPED_FIXTURES

    def data_document(self) -> dict[str, Any]:
        """The whole data document as the engine sees it."""
        return {DATA_ROOT: json.loads(canonical_json(dict(self.data)))}


def data_file_name(data_file: Path | None) -> str:
    """The data file as messages name it (``data.yaml``), or that there is none."""
    return data_file.name if data_file else f"a data file ({' or '.join(DATA_FILES)})"


def rego_files(directory: Path) -> list[Path]:
    """The ``*.rego`` entries of ``directory``, sorted; a ``PolicyBundleError`` if it has none
    to give: it does not exist, is not a directory, or cannot be read.

    ``Path.glob`` answers an unreadable directory with no files, which was reported as
    "holds no .rego files", and ``Path.is_dir`` with a traceback or "does not exist".
    """
    try:
        if not stat.S_ISDIR(os.stat(directory).st_mode):
            raise PolicyBundleError(f"policies directory {str(directory)!r} is not a directory")
        with os.scandir(directory) as entries:
            names = [entry.name for entry in entries if fnmatch.fnmatchcase(entry.name, "*.rego")]
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise PolicyBundleError(f"policies directory {str(directory)!r} does not exist"
                                    ) from exc
        raise PolicyBundleError(f"policies directory {str(directory)!r} cannot be read: "
                                f"{exc.strerror or type(exc).__name__}") from exc
    return [directory / name for name in sorted(names)]


@cache  # one class for every bundle; yaml imported here: only a bundle being loaded needs it
def _data_loader() -> type:
    """SafeLoader reading scalars as plans do: YAML 1.1's 09:30, 017, yes or dates stay text."""
    import yaml

    class DataLoader(yaml.SafeLoader):
        """Policy data is JSON data for Rego, so it is read as YAML 1.2 reads it."""

    read_scalars_as_json(DataLoader)
    return DataLoader


@lru_cache(maxsize=256)
def _parsed_data_yaml(text: str) -> Any:
    """What the data YAML ``text`` holds, parsed once per distinct text.

    Every process and test loads the same bundle again and again, and PyYAML's pure-Python
    parse is what costs, not reading the file. Keyed by the text itself, not by the file's
    mtime: a file rewritten within one timestamp tick is read afresh. A failed parse raises
    and is not kept. The value is shared: hand out only copies (``_read_data``).
    """
    import yaml

    return yaml.load(text, Loader=_data_loader())  # noqa: S506 - a SafeLoader


def _read_module(path: Path) -> str:
    """The source of one ``.rego`` file; unreadable or not UTF-8 text, a ``PolicyBundleError``."""
    try:
        # A directory named x.rego: read_text would raise IsADirectoryError. The stat itself
        # fails (EACCES, a traceback from is_file) in a directory that may be listed only.
        if not path.is_file():
            raise PolicyBundleError(f"cannot read policy file {path}: it is not a file")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyBundleError(f"cannot read policy file {path}: it is not UTF-8 text "
                                f"(byte {exc.start})") from exc
    except OSError as exc:
        raise PolicyBundleError(f"cannot read policy file {path}: "
                                f"{exc.strerror or type(exc).__name__}") from exc


def _read_data(root: Path) -> tuple[Path | None, dict[str, Any]]:
    """The first data file in ``root`` and what it holds (``None, {}`` when there is none)."""
    for name in DATA_FILES:
        path = root / name
        if not path.exists():
            continue
        import yaml  # for its YAMLError; loaded by _data_loader already

        try:
            text = path.read_text(encoding="utf-8")
            # A deep copy of the shared parse: the bundle's data must not reach back into it.
            value = (json.loads(text) if name.endswith(".json")
                     else copy.deepcopy(_parsed_data_yaml(text)))
        except RecursionError as exc:
            raise PolicyBundleError(f"cannot read policy data {path}: it is nested too deeply "
                                    f"(at most {MAX_DATA_DEPTH} levels)") from exc
        except UnicodeDecodeError as exc:
            raise PolicyBundleError(f"cannot read policy data {path}: it is not UTF-8 text "
                                    f"(byte {exc.start})") from exc
        except yaml.MarkedYAMLError as exc:  # its text spans lines and quotes the file
            mark = exc.problem_mark or exc.context_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise PolicyBundleError(f"cannot read policy data {path}: invalid YAML{where}: "
                                    f"{exc.problem or exc.context}") from exc
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise PolicyBundleError(f"cannot read policy data {path}: {exc}") from exc
        if not isinstance(value, dict):
            raise PolicyBundleError(f"policy data {path} must hold an object at the top")
        problem = _not_json_data(value)
        if problem:
            raise PolicyBundleError(f"policy data {path}: {problem}")
        return path, value
    return None, {}


_JSON_SCALARS = (str, int, float, bool, type(None))


def _not_json_data(document: dict[str, Any]) -> str | None:
    """Why ``document`` cannot be given to the engines as JSON data, if it cannot.

    YAML allows what JSON does not (keys that are numbers or null, ``.nan``, ``!!binary``),
    and the data is hashed as canonical JSON: such a value failed there with a traceback.
    Walked with a stack, not recursion: the depth is what may be wrong.
    """
    stack: list[tuple[Any, str, int]] = [(document, "", 1)]
    while stack:
        value, where, depth = stack.pop()
        at = f" (at {where})" if where else ""
        if depth > MAX_DATA_DEPTH:
            top = where.split("[", 1)[0].split(".", 1)[0]
            return f"it is nested too deeply (under {top}): at most {MAX_DATA_DEPTH} levels"
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    shown = json.dumps(key) if isinstance(key, _JSON_SCALARS) else repr(key)
                    return (f"the key {shown}{at} is not text: keys of JSON data are strings; "
                            "quote it")
                stack.append((item, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{index}]", depth + 1)
                         for index, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            return f"{where} is {value}, which JSON cannot hold; write a finite number"
        elif not isinstance(value, _JSON_SCALARS):
            return (f"{where} is a {type(value).__name__}, which JSON cannot hold; write text, "
                    "a number, true/false, null, a list or a mapping")
    return None

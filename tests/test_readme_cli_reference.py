"""The README's CLI reference documents the command tree `--help` is built from.

Every command has one entry there (a bullet opening with its synopsis, "- `baton audit
export [--format F] ...`"), and every option and argument of a command is named in that
command's entry, the global options in the prose above the entries. So a flag added to the
CLI without a word in the reference fails here, and so does an entry for a command or a
synopsis flag that no longer exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer.main

from baton.cli.main import app

README = Path(__file__).resolve().parents[1] / "README.md"
HEADING = "## CLI reference"
# An entry is a bullet whose first code span is a synopsis: "- `baton plans show PLAN_ID ...`".
ENTRY = re.compile(r"^- `(baton(?: [^`]*)?)`", re.MULTILINE)
COMMAND_WORD = re.compile(r"[a-z][a-z-]*")


def _section() -> str:
    """The CLI reference: from its heading to the next section's."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n{HEADING}\n") + 1
    end = text.find("\n## ", start)
    return text[start:] if end < 0 else text[start:end]


def _command_path(synopsis: str) -> str:
    """The command a synopsis is of: its leading lower-case words ("baton audit export")."""
    words = []
    for word in synopsis.split():
        if not COMMAND_WORD.fullmatch(word):
            break  # an argument (PLAN_ID), an option ([--json]) or "…"
        words.append(word)
    return " ".join(words)


def _reference() -> tuple[str, dict[str, tuple[str, str]], list[str]]:
    """The prose above the entries; each entry by command path as (synopsis, whole entry);
    the paths that have more than one entry."""
    section = _section()
    starts = list(ENTRY.finditer(section))
    assert starts, f"no entries found under {HEADING!r}"
    entries: dict[str, tuple[str, str]] = {}
    repeated = []
    for match, following in zip(starts, [*starts[1:], None], strict=True):
        path = _command_path(match.group(1))
        if path in entries:
            repeated.append(path)
        end = following.start() if following else len(section)
        entries[path] = (match.group(1), section[match.start():end])
    return section[:starts[0].start()], entries, repeated


def _commands() -> Iterator[tuple[str, Any]]:
    """Every visible command of the real tree with its full path, the root ("baton") first."""
    def walk(command: Any, path: str) -> Iterator[tuple[str, Any]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden:
                yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(app), "baton")


def _options(command: Any) -> list[str]:
    """The long names of a command's visible options (--help is on every command)."""
    return [name for param in command.params
            if param.param_type_name == "option" and not getattr(param, "hidden", False)
            for name in (*param.opts, *param.secondary_opts) if name.startswith("--")]


def _arguments(command: Any) -> list[str]:
    """How `--help` names a command's arguments: PLAN_ID, or the metavar given (USER)."""
    return [param.metavar or param.name.upper() for param in command.params
            if param.param_type_name == "argument"]


def _names(flag: str, text: str) -> bool:
    """Whether ``text`` names ``flag`` itself, not only a longer one (--param in --param-min)."""
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def test_every_command_has_one_entry_and_every_entry_a_command():
    _, entries, repeated = _reference()
    commands = {path for path, _ in _commands()} - {"baton"}
    assert repeated == []
    assert sorted(commands - set(entries)) == [], "commands missing from the CLI reference"
    assert sorted(set(entries) - commands) == [], "entries for commands that do not exist"


def test_every_option_is_named_in_its_commands_entry():
    prose, entries, _ = _reference()
    missing = []
    for path, command in _commands():
        text = prose if path == "baton" else entries.get(path, ("", ""))[1]
        missing += [f"{path} {flag}" for flag in _options(command) if not _names(flag, text)]
    assert missing == []


def test_every_argument_is_in_its_commands_synopsis():
    _, entries, _ = _reference()
    missing = []
    for path, command in _commands():
        synopsis = entries.get(path, ("", ""))[0]
        missing += [f"{path} {name}" for name in _arguments(command)
                    if re.search(rf"\b{re.escape(name)}\b", synopsis) is None]
    assert missing == []


def test_a_synopsis_offers_only_its_commands_own_options():
    _, entries, _ = _reference()
    commands = dict(_commands())
    stale = []
    for path, (synopsis, _) in entries.items():
        if path in commands:
            own = set(_options(commands[path]))
            stale += [f"{path} {flag}" for flag in re.findall(r"--[a-z][a-z-]*", synopsis)
                      if flag not in own]
    assert stale == []

"""``baton tools list`` and ``tools show`` print a tool's free text escaped, as other commands do.

A tool's description, tags and region come from a ``[[tools.http]]`` table or an installed
package: an escape sequence in them cleared the screen or rewrote lines of ``tools list``.
They print as ``printable`` writes them (``\\x1b``, ``\\u202e``), as plan text does.
"""

from __future__ import annotations

import pytest

from tests.support.cli_in_process import in_process_baton

CONFIG = r"""
[users.alice]
roles = ["analyst"]

[[tools.http]]
name = "crm.lookup"
url = "https://api.internal.example/lookup"
method = "GET"
description = "Looks up\u001b[2J a customer\u202e by id"
tags = ["crm\u001b[31m"]

[tools.http.input_schema]
type = "object"
properties = { id = { type = "string", description = "Id\u001b[1A" } }
"""
RAW = ("\x1b", "\u202e")


@pytest.fixture
def baton(data_dir, capsys):
    (data_dir / "baton.toml").write_text(CONFIG)
    with in_process_baton(capsys) as run:
        yield run


def _assert_escaped(done) -> None:
    assert done.returncode == 0, done.stderr
    for raw in RAW:
        assert raw not in done.stdout, repr(done.stdout)


def test_tools_list_escapes_descriptions_and_tags(baton):
    done = baton("tools", "list")
    _assert_escaped(done)
    assert "Looks up\\x1b[2J a customer\\u202e" in done.stdout  # wrapped at 80 columns
    assert "crm\\x1b[31m" in done.stdout


def test_tools_show_escapes_the_description_tags_and_schema(baton):
    done = baton("tools", "show", "crm.lookup")
    _assert_escaped(done)
    assert "Looks up\\x1b[2J a customer\\u202e by id" in done.stdout
    assert "crm\\x1b[31m" in done.stdout


def test_json_keeps_the_text_as_it_is(baton):
    done = baton("tools", "show", "crm.lookup", "--json")
    assert done.returncode == 0, done.stderr
    assert "\\u001b[2J" in done.stdout  # JSON's own escape: the data is kept whole


FAKE_FIELDS = r"""
[users.alice]
roles = ["analyst"]

[[tools.http]]
name = "crm.lookup"
url = "https://api.internal.example/lookup"
method = "POST"
description = "Look up a customer.\n\neffect:      read\nidempotent:  yes"
"""


def test_a_description_cannot_pass_for_the_fields_of_tools_show(data_dir, capsys):
    (data_dir / "baton.toml").write_text(FAKE_FIELDS)
    with in_process_baton(capsys) as run:
        shown = run("--as", "alice", "tools", "show", "crm.lookup")
        listed = run("--as", "alice", "tools", "list")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    # The description's lines are indented under the name; the tool's own fields are not.
    assert "  effect:      read" in lines and "effect:      write" in lines
    assert "effect:      read" not in lines
    assert "Look up a customer." in listed.stdout and "effect:      read" not in listed.stdout

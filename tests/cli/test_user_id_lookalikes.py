"""User ids that could pass for another's are refused, by the settings and by ``baton token``.

"alice " (a trailing space) was accepted beside "alice" and approved her plan: every display
then read "requester: alice" and "approved by alice ". "Alice" beside "alice", and a Cyrillic
'а' in "аlice", were accepted as other people without a word. Lookups stay exact: ``--as`` and
a token never find a user whose id is only like the one given.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from baton.cli import app
from baton.settings import ConfigError, User, hash_token, load_settings, user_toml
from tests.support.cli_in_process import in_process_baton


def _load(tmp_path, *uids: str):
    path = tmp_path / "baton.toml"
    path.write_text("".join(user_toml(uid, ["approver"], []) for uid in uids), encoding="utf-8")
    return load_settings(path, environ={})


def _refused(tmp_path, *uids: str) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, *uids)
    return caught.value.message


# Ids people use: each alone, and all of them together.
USED = ["alice", "bob.smith", "zoë", "j.doe@example.com", "eve smith", "O'Brien", "ʻiolani",
        "Иван", "Ιωάννης", "山田たろう", "佐々木", "김철수", "Tanaka山田", "דוד", "x-1_2",
        # Invisible joiners a name is spelt with (Unicode TR 39, IDNA's CONTEXTJ): a ZWNJ
        # between Arabic letters (Persian 'Alireza'), a ZWJ after a virama (Sinhala 'Sri');
        # and a Han iteration mark.
        "علی\u200cرضا", "ශ්\u200dරී", "山田〻"]


def test_ids_people_use_are_declared_together(tmp_path):
    assert list(_load(tmp_path, *USED).users) == USED


@pytest.mark.parametrize(("uid", "said"), [
    ("alice ", "'alice ' ends with a space, which no display shows: it reads as 'alice'"),
    (" alice", "' alice' starts with a space"),
    ("alice\u00a0b", "U+00A0 NO-BREAK SPACE, which reads as a plain space"),
    ("alice\u3000", "ends with a space"),
    ("eve  smith", "two spaces in a row, which read as one"),
    ("ali\u200bce", "an invisible character, U+200B ZERO WIDTH SPACE: it reads as 'alice'"),
    ("alice\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\u0430lice", "mixes letters of two scripts, 'а' (U+0430 CYRILLIC SMALL LETTER A) and "
                   "'l' (U+006C LATIN SMALL LETTER L)"),
    ("b\u03bfb", "GREEK SMALL LETTER OMICRON"),
    # Invisible or blank, though not formatting characters (Unicode category Cf).
    ("alice\ufe0f", "an invisible character, U+FE0F VARIATION SELECTOR-16: it reads as 'alice'"),
    ("al\u034fice", "U+034F COMBINING GRAPHEME JOINER: it reads as 'alice'"),
    ("alice\u180b", "U+180B MONGOLIAN FREE VARIATION SELECTOR ONE: it reads as 'alice'"),
    ("alice\u3164", "U+3164 HANGUL FILLER: it reads as 'alice'"),
    ("alice\uffa0", "U+FFA0 HALFWIDTH HANGUL FILLER: it reads as 'alice'"),
    ("alice\u115f", "U+115F HANGUL CHOSEONG FILLER: it reads as 'alice'"),
    ("alice\u2800", "U+2800 BRAILLE PATTERN BLANK: it reads as 'alice'"),
    # Joiners where no script joins: after a Latin letter, between Han ones, doubled.
    ("ali\u200dce", "U+200D ZERO WIDTH JOINER: it reads as 'alice'"),
    ("alice\u200c", "U+200C ZERO WIDTH NON-JOINER: it reads as 'alice'"),
    ("山\u200c田", "U+200C ZERO WIDTH NON-JOINER: it reads as '山田'"),
    ("علی\u200c\u200cرضا", "U+200C ZERO WIDTH NON-JOINER: it reads as 'علیرضا'"),
], ids=["trailing", "leading", "nbsp", "ideographic-space", "double", "zero-width", "bidi",
        "cyrillic-a", "greek-o", "variation-selector", "grapheme-joiner", "mongolian-fvs",
        "hangul-filler", "halfwidth-hangul-filler", "choseong-filler", "braille-blank",
        "zwj-latin", "zwnj-latin", "zwnj-han", "zwnj-doubled"])
def test_an_id_that_reads_as_another_is_a_settings_error_naming_it_and_why(tmp_path, uid, said):
    message = _refused(tmp_path, "alice", uid)
    assert said in message and "baton.toml" in message, message
    with pytest.raises(ValueError, match="user_id"):  # settings made in code too
        User(id=uid, roles=("approver",))


@pytest.mark.parametrize(("uids", "said"), [
    (["alice", "Alice"], "users 'alice' and 'Alice' differ only in case: an approver could "
                         "pass for the requester"),
    (["Straße", "STRASSE"], "differ only in case"),
    (["bob", "ｂｏｂ"], "users 'bob' and 'ｂｏｂ' differ only in forms of the same letters "
                      "(Unicode NFKC: 'bob' and '\\uff42\\uff4f\\uff42')"),
    (["file", "ﬁle", "FILE"], "users 'file', 'ﬁle' and 'FILE' differ only in forms"),
    (["علیرضا", "علی\u200cرضا"], "differ only in invisible characters (Unicode "
                                "default-ignorable: '\\u0639\\u0644\\u06cc\\u0631"),
    (["ශ්රී", "ශ්\u200dරී"], "differ only in invisible characters"),
], ids=["case", "sharp-s", "fullwidth", "ligature", "zwnj", "zwj"])
def test_two_ids_the_same_once_folded_are_a_settings_error_naming_both(tmp_path, uids, said):
    message = _refused(tmp_path, "carol", *uids)
    assert said in message, message
    assert "users.carol" not in message


# --- baton token ------------------------------------------------------------------------------

def _token(*args: str):
    return CliRunner().invoke(app, ["token", *args, "--json"])


@pytest.mark.parametrize("uid", ["alice ", "\u0430lice", "ali\u200bce", "alice\ufe0f",
                                 "al\u034fice", "alice\u180b", "alice\u3164", "alice\uffa0",
                                 "alice\u115f", "alice\u2800", "ali\u200dce"])
def test_token_refuses_an_id_that_reads_as_another(data_dir, uid):
    (data_dir / "baton.toml").write_text(user_toml("alice", ["analyst"], []), encoding="utf-8")
    result = _token(uid, "--role", "approver")
    assert result.exit_code == 2 and "token_sha256" not in result.output, result.output
    assert f"the user id {uid!r}" in " ".join(result.output.split())


def test_token_refuses_an_id_that_differs_from_a_declared_one_only_in_case(data_dir):
    (data_dir / "baton.toml").write_text(user_toml("alice", ["analyst"], []), encoding="utf-8")
    result = _token("Alice", "--role", "approver")
    assert result.exit_code == 2 and "token_sha256" not in result.output, result.output
    assert "users 'alice' and 'Alice' differ only in case" in " ".join(result.output.split())
    # A second token for the same user is what the command is for.
    again = _token("alice")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["user"] == "alice"


def test_token_refuses_an_id_that_differs_from_a_declared_one_only_in_a_joiner(data_dir):
    (data_dir / "baton.toml").write_text(user_toml("علی\u200cرضا", ["analyst"], []),
                                         encoding="utf-8")
    result = _token("علیرضا", "--role", "approver")
    assert result.exit_code == 2 and "token_sha256" not in result.output, result.output
    assert "differ only in invisible characters" in " ".join(result.output.split())
    again = _token("علی\u200cرضا")  # the name as declared, joiner and all
    assert again.exit_code == 0, again.output


# --- lookups stay exact -----------------------------------------------------------------------

@pytest.mark.parametrize("given", ["alice ", "Alice", "ａｌｉｃｅ"])
def test_as_finds_only_the_id_as_written(data_dir, capsys, given):
    (data_dir / "baton.toml").write_text(user_toml("alice", ["analyst"], []), encoding="utf-8")
    with in_process_baton(capsys) as baton:
        done = baton("--as", given, "plans", "list")
    assert done.returncode == 2 and f"unknown user {given!r}" in done.stderr, done


def test_a_token_finds_only_its_own_user_among_ids_alike_but_allowed(tmp_path):
    # "zoë" composed and "zoë" decomposed print alike but are other strings: folded they are
    # one, so they cannot both be declared; each alone is found only as written.
    composed, decomposed = "zo\u00eb", "zoe\u0308"
    assert "differ only in forms" in _refused(tmp_path, composed, decomposed)
    path = tmp_path / "baton.toml"
    path.write_text(user_toml(decomposed, ["approver"], [hash_token("t-1")]), encoding="utf-8")
    settings = load_settings(path, environ={})
    assert settings.user_for_token("t-1").id == decomposed
    assert composed not in settings.users


def test_an_unknown_id_no_user_may_have_is_told_why_not_to_declare_it(data_dir, capsys):
    (data_dir / "baton.toml").write_text(user_toml("alice", ["analyst"], []), encoding="utf-8")
    with in_process_baton(capsys) as baton:
        done = baton("--as", "alice ", "plans", "list")
    assert done.returncode == 2 and "ends with a space" in done.stderr, done
    assert "declare it under" not in done.stderr
    with in_process_baton(capsys) as baton:
        done = baton("--as", "eve smith", "plans", "list")
    assert 'declare it under [users."eve smith"]' in done.stderr, done

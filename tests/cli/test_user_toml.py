"""``user_toml``: the one place the ``[users.ID]`` table is written, read back by load_settings."""

from __future__ import annotations

from baton.settings import hash_token, load_settings, user_toml


def test_the_table_declares_the_user_with_roles_and_every_token_hash(tmp_path):
    digests = [hash_token("one"), hash_token("two")]
    path = tmp_path / "baton.toml"
    path.write_text(user_toml("bob", ["approver", "admin"], digests), encoding="utf-8")
    bob = load_settings(path, environ={}).users["bob"]
    assert bob.roles == ("approver", "admin") and bob.token_sha256 == tuple(digests)


def test_a_user_id_that_is_not_a_bare_key_is_quoted(tmp_path):
    path = tmp_path / "baton.toml"
    path.write_text(user_toml("bob.smith", ["analyst"], []), encoding="utf-8")
    assert load_settings(path, environ={}).users["bob.smith"].roles == ("analyst",)

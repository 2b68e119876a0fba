"""The users table's checks live in ``baton.settings_users``; ``baton.settings`` still offers them."""

from __future__ import annotations

import baton.settings
import baton.settings_users

MOVED = ("hash_token", "known_roles", "policy_data_in_force", "role_problem",
         "token_hash_problem", "toml_key", "user_problems", "user_toml")


def test_the_users_checks_are_the_same_objects_from_baton_settings_as_from_their_module():
    for name in MOVED:
        assert getattr(baton.settings, name) is getattr(baton.settings_users, name), name

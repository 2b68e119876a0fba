"""A command whose SQLite file is deleted while it works exits 1 naming the file, instead of
reporting an approval written into a file nobody will find again."""

from __future__ import annotations

import os

import baton.usecases.approving as approving


def test_an_approval_into_a_deleted_database_file_exits_1_naming_it(cli, data_dir, plan_id,
                                                                    monkeypatch):
    path = data_dir / ".baton" / "baton.db"
    taken = approving.decide_again

    def deleting(*args, **kwargs):
        """The policies take their time: the file is deleted meanwhile."""
        for name in (path, f"{path}-wal", f"{path}-shm"):
            if os.path.exists(name):
                os.remove(name)
        return taken(*args, **kwargs)

    monkeypatch.setattr(approving, "decide_again", deleting)
    done = cli("--as", "bob", "approve", plan_id)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert f"the database file {path} was deleted while in use" in done.stderr
    assert done.stdout == ""

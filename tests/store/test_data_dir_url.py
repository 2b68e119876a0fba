"""The default SQLite URL names the file in data_dir exactly, whatever characters its path holds."""

from __future__ import annotations

import pytest

from baton.settings import load_settings
from executor.store.db import make_engine
from executor.store.migrate import upgrade


@pytest.mark.parametrize("name", ["d%41ta", "a#b", "a?b=c", "sp ace", "a@b:c"])
def test_the_database_is_made_inside_data_dir_whatever_its_name_holds(tmp_path, name):
    data_dir = tmp_path / name
    settings = load_settings(environ={"BATON_DATA_DIR": str(data_dir)})

    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()

    assert (data_dir / "baton.db").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing made beside it

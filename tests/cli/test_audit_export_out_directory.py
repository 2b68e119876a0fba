"""``--out PATH/`` names a directory: refused, never written as the file before the slash.

typer turns the option into a ``Path``, which drops a trailing slash: ``--out
/path/file.txt/`` overwrote file.txt and ``--out /tmp/x/zz/`` created a file zz. The raw
text is read by ``export_file.out_path`` (the option's parser), which refuses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from baton.cli.export_file import out_path


@pytest.mark.parametrize("text", ["file.txt/", "/tmp/x/zz/", "out//", "out/.", ".", "a/..",
                                  "/"])
def test_a_path_naming_a_directory_is_refused_naming_it(text):
    with pytest.raises(typer.BadParameter) as caught:
        out_path(text)
    assert repr(text) in str(caught.value) and "directory" in str(caught.value)


@pytest.mark.parametrize("text", ["file.txt", "/tmp/x/zz", "dir/export.jsonl", "a..b"])
def test_a_file_path_is_given_as_written(text):
    assert out_path(text) == Path(text)


def test_as_an_options_parser_a_trailing_slash_is_a_usage_error_and_nothing_is_written(
        data_dir):
    app = typer.Typer()
    written: list[Path] = []

    @app.command()
    def export(out: Annotated[Path, typer.Option("--out", parser=out_path)]) -> None:
        written.append(out)

    (data_dir / "file.txt").write_text("keep")
    done = CliRunner().invoke(app, ["--out", "file.txt/"])
    assert done.exit_code == 2, done.output
    assert "directory" in done.output
    assert written == [] and (data_dir / "file.txt").read_text() == "keep"
    assert CliRunner().invoke(app, ["--out", "other.txt"]).exit_code == 0
    assert written == [Path("other.txt")]


def test_audit_export_refuses_a_trailing_slash_and_leaves_the_file(cli, data_dir):
    (data_dir / "file.txt").write_text("keep")
    done = cli("audit", "export", "--out", str(data_dir / "file.txt") + "/")
    assert done.returncode == 2, done.stderr
    assert "names a directory" in done.stderr
    assert (data_dir / "file.txt").read_text() == "keep"

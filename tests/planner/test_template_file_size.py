"""A template file larger than any template needs is refused unread, naming its size.

Every command that plans loads the whole library, and ``baton templates add FILE`` parses
the file given; a file of tens of megabytes (a log pasted by mistake, a generated dump) cost
every one of them seconds and memory. Sparse files: the size is read, never the bytes.
"""

from __future__ import annotations

import pytest

from planner.templates import TemplateError, TemplateLibrary, read_new_template
from planner.templates.loader import TEMPLATE_MAX_BYTES


def _sparse(path, size: int):
    with path.open("wb") as file:
        file.truncate(size)
    return path


def test_a_library_file_over_the_limit_fails_loading_naming_it_and_its_size(tmp_path):
    big = _sparse(tmp_path / "huge.v1.yaml", 60 * 2**20)
    with pytest.raises(TemplateError) as caught:
        TemplateLibrary.load([tmp_path])
    assert str(big) in caught.value.message
    assert "62,914,560 bytes" in caught.value.message and "1 MiB" in caught.value.message


def test_a_file_to_add_over_the_limit_is_refused(tmp_path):
    big = _sparse(tmp_path / "new.yaml", TEMPLATE_MAX_BYTES + 1)
    with pytest.raises(TemplateError) as caught:
        read_new_template(big)
    assert "larger than" in caught.value.message


def test_a_file_at_the_limit_is_read(tmp_path):
    # Read and judged as YAML (blank padding after a document is no template): not refused
    # for its size.
    at = tmp_path / "edge.yaml"
    at.write_bytes(b"name: edge\n" + b" " * (TEMPLATE_MAX_BYTES - 11))
    with pytest.raises(TemplateError) as caught:
        read_new_template(at)
    assert "larger than" not in caught.value.message

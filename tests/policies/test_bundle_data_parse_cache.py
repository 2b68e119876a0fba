"""A bundle's data.yaml is parsed once per distinct text; every load still reads the file."""

from __future__ import annotations

import os

import pytest
import yaml

from policies import bundle as bundle_module
from policies.bundle import PolicyBundle, PolicyBundleError
from tests.support.call_counts import counted_calls

DATA = "limits:\n  max_steps: 10\nowners: [alice, bob]\n"


@pytest.fixture(autouse=True)
def cold_cache():
    bundle_module._parsed_data_yaml.cache_clear()
    yield
    bundle_module._parsed_data_yaml.cache_clear()


@pytest.fixture
def parses(monkeypatch):
    """How many times YAML has been parsed since the test began."""
    return counted_calls(monkeypatch, yaml, "load")


def _policies(tmp_path, data: str):
    (tmp_path / "p.rego").write_text("package baton\nimport rego.v1\n")
    (tmp_path / "data.yaml").write_text(data)
    return tmp_path


def test_two_loads_of_the_same_data_parse_it_once(tmp_path, parses):
    root = _policies(tmp_path, DATA)
    first = PolicyBundle.load(root)
    second = PolicyBundle.load(root)
    assert first.data == second.data == {"limits": {"max_steps": 10}, "owners": ["alice", "bob"]}
    assert first.bundle_hash == second.bundle_hash
    assert parses[0] == 1


def test_data_rewritten_with_the_same_size_and_mtime_is_read_afresh(tmp_path, parses):
    root = _policies(tmp_path, DATA)
    path = root / "data.yaml"
    assert PolicyBundle.load(root).data["limits"] == {"max_steps": 10}
    stamp = os.stat(path)
    changed = DATA.replace("10", "99")
    assert len(changed) == len(DATA)
    path.write_text(changed)
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # as if within one tick
    assert os.stat(path).st_size == stamp.st_size
    assert PolicyBundle.load(root).data["limits"] == {"max_steps": 99}
    assert parses[0] == 2


def test_data_changed_by_its_holder_does_not_change_the_next_load(tmp_path):
    root = _policies(tmp_path, DATA)
    first = PolicyBundle.load(root)
    first.data["limits"]["max_steps"] = 0
    first.data["owners"].append("mallory")
    again = PolicyBundle.load(root)
    assert again.data == {"limits": {"max_steps": 10}, "owners": ["alice", "bob"]}


def test_overrides_do_not_reach_the_next_load(tmp_path):
    root = _policies(tmp_path, DATA)
    assert PolicyBundle.load(root, overrides={"owners": ["carol"]}).data["owners"] == ["carol"]
    assert PolicyBundle.load(root).data["owners"] == ["alice", "bob"]


@pytest.mark.parametrize(("data", "fragment"), [
    ("limits: [1, 2\n", "invalid YAML at line 2, column 1: "),
    ("1: one\n", "the key 1 is not text"),
])
def test_bad_data_is_refused_the_same_way_every_time(tmp_path, data, fragment):
    root = _policies(tmp_path, data)
    messages = []
    for _ in range(2):
        with pytest.raises(PolicyBundleError) as caught:
            PolicyBundle.load(root)
        messages.append(caught.value.message)
    assert messages[0] == messages[1]
    assert fragment in messages[0]


def test_the_cache_is_bounded():
    assert bundle_module._parsed_data_yaml.cache_info().maxsize == 256

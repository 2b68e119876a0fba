"""Only a bundle namespace's own name is collected on a shared OPA server.

``is_namespace`` matched ``^baton_<16 hex>$``, which lets a trailing line break through:
a registry entry ``baton_0123456789abcdef\\n``, which no Baton writes, was taken for an
unused namespace and its data under ``data["baton_0123456789abcdef\\n"]`` deleted.
"""

from __future__ import annotations

from policies.bundle import PolicyBundle
from policies.opa import REGISTRY_ROOT, OpaEngine
from policies.opa_namespace import is_namespace
from tests.support.fake_opa import FakeOpa

NAME = "baton_0123456789abcdef"


def test_a_name_ending_in_a_line_break_is_no_namespace():
    assert is_namespace(NAME)
    assert not is_namespace(NAME + "\n")


def test_a_push_leaves_data_under_a_name_ending_in_a_line_break_alone():
    odd = NAME + "\n"
    with FakeOpa() as server:
        server.put_data([REGISTRY_ROOT, odd], {"used_at": 1})  # unused for ever, were it ours
        server.put_data([odd], {"theirs": True})
        OpaEngine(PolicyBundle.load(), server.url, timeout_s=10.0).load()
        assert server.get_data([odd]) == {"theirs": True}
        assert server.get_data([REGISTRY_ROOT, odd]) == {"used_at": 1}
        assert not [path for method, path in server.requests if method == "DELETE"]

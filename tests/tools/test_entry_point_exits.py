"""A tool package that calls ``sys.exit`` while it loads fails closed, naming its entry point.

Only ``Exception`` was caught: ``sys.exit(0)`` in a package's ``register()`` or at its import
ended ``baton validate``, ``plan``, ``run`` and ``tools list`` with status 0, silently, having
done nothing.
"""

from __future__ import annotations

import pytest

from tests.tools import test_registry
from tools import BatonError, ToolRegistry

make_distribution = test_registry.make_distribution
site_dir = test_registry.site_dir  # a fixture, used by name


@pytest.mark.parametrize(("source", "code"), [
    ("import sys\n\ndef register(registry):\n    sys.exit(0)\n", "0"),
    ("import sys\nsys.exit(3)\n\ndef register(registry):\n    pass\n", "3"),
    ("import sys\n\ndef register(registry):\n    sys.exit()\n", "None"),
])
def test_a_package_calling_sys_exit_is_a_load_error_naming_its_entry_point(
        site_dir, source, code):
    module = make_distribution(site_dir, "crm_exits", source)
    with pytest.raises(BatonError) as caught:
        ToolRegistry().load_entry_points()
    assert str(caught.value) == (f"tool package entry point 'crm_exits' ({module}:register) "
                                 f"failed to load: it called sys.exit({code})")
    assert caught.value.code == "tool_entry_point"


def test_ctrl_c_while_a_package_loads_still_stops_the_command(site_dir):
    make_distribution(site_dir, "crm_interrupted",
                      "def register(registry):\n    raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        ToolRegistry().load_entry_points()

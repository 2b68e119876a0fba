"""A policies directory of one's own for tests: the shipped rules and data plus a test's files."""

from __future__ import annotations

from pathlib import Path

from policies.bundle import SHIPPED_DIR

V0_RULE = ('package baton\n\n# Rule: nothing may be posted (v0 syntax)\ndeny[msg] {\n'
           '\ts := input.steps[_]\n\ts.tool == "http.request"\n'
           '\tmsg := sprintf("step %s: no http allowed", [s.id])\n}\n')
V0_SET = 'package baton\ndeny["always"] { true }\n'
UNCLOSED = "package baton\nimport rego.v1\ndeny contains msg if {\n"


def own_bundle(tmp_path: Path, files: dict[str, str | bytes], *,
               data: str | None = None) -> Path:
    """The shipped rules and data, plus ``files`` (name: text or bytes), in ``tmp_path/own``."""
    own = tmp_path / "own"
    own.mkdir()
    for rule in SHIPPED_DIR.iterdir():
        if rule.is_file():
            (own / rule.name).write_text(rule.read_text())
    for name, content in files.items():
        target = own / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    if data is not None:
        (own / "data.yaml").write_text(data)
    return own

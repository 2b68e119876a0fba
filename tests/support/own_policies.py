"""A policies directory of one's own: the shipped rules plus fixture files a test writes."""

from __future__ import annotations

from pathlib import Path

from policies.bundle import SHIPPED_DIR


def own_policies_with_fixtures(workdir: Path, fixtures: dict[str, str], *,
                               config: str = "") -> Path:
    """``workdir/mypolicies`` holding the shipped rules and ``fixtures`` (file name: text),
    and a ``baton.toml`` in ``workdir`` pointing at it, followed by ``config``."""
    own = workdir / "mypolicies"
    (own / "fixtures").mkdir(parents=True)
    for rule in SHIPPED_DIR.iterdir():
        if rule.is_file():
            (own / rule.name).write_text(rule.read_text())
    for name, text in fixtures.items():
        (own / "fixtures" / name).write_text(text)
    (workdir / "baton.toml").write_text(f'policies_dir = "{own}"\n' + config)
    return own

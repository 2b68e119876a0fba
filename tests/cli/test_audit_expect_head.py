"""`baton audit verify --expect-head`: a malformed head is one usage error line (exit 2)."""

from __future__ import annotations

import pytest

HEAD_USAGE = "--expect-head must be SEQ:HASH (a positive seq and a 64-hex sha256)"


@pytest.mark.parametrize("seq", ["\u00b2", "\u0661", "\uff11", "1" * 5000],
                         ids=["superscript two", "arabic-indic one", "fullwidth one", "5000 digits"])
def test_expect_head_takes_an_ascii_decimal_seq_only(cli, seq):
    result = cli("audit", "verify", "--expect-head", f"{seq}:{'a' * 64}")
    assert result.returncode == 2, result
    assert HEAD_USAGE in result.stderr and "int()" not in result.stderr, result.stderr

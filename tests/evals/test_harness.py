"""The harness samples cases, runs them one by one and aggregates what they scored."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from evals import harness


@pytest.fixture
def every_gold_plan_valid(monkeypatch):
    monkeypatch.setattr(harness, "validate_plan", lambda *a, **k: SimpleNamespace(ok=True))


def cases(n: int) -> list:
    return [SimpleNamespace(id=i, gold_plan=None, registry=None) for i in range(n)]


@pytest.mark.parametrize("limit", [1, 50, 300, 400, 699, 700])
def test_limit_spreads_over_the_whole_dataset(every_gold_plan_valid, limit):
    good, skipped = harness.sample(cases(700), limit)
    ids = [c.id for c in good]
    assert len(set(ids)) == len(ids) == limit and not skipped
    gaps = [b - a for a, b in zip([0, *sorted(ids)], [*sorted(ids), 700], strict=True)]
    assert max(gaps) <= -(-700 // limit) + 1  # no stretch of the dataset left out, the end included


def test_a_limit_past_the_dataset_takes_it_all_in_order(every_gold_plan_valid):
    assert [c.id for c in harness.sample(cases(5), 9)[0]] == [0, 1, 2, 3, 4]
    assert [c.id for c in harness.sample(cases(5), None)[0]] == [0, 1, 2, 3, 4]

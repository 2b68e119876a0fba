"""VerifyGuard on its own: the slot, the cooldown, and the seconds a refusal says to wait."""

from __future__ import annotations

import pytest

from baton.api import VerifyGuard, VerifyRefused

from .verify_support import FakeClock


def refusal(guard: VerifyGuard, user_id: str) -> VerifyRefused:
    with pytest.raises(VerifyRefused) as refused, guard.running(user_id):
        pass
    return refused.value


def test_a_refusal_while_one_runs_guesses_its_end_from_the_last_verifications_length():
    clock = FakeClock()
    guard = VerifyGuard(0, clock=clock)
    with guard.running("dave"):
        clock.now += 8  # the first verification takes 8 s
    with guard.running("dave"):
        clock.now += 2.5
        refused = refusal(guard, "alice")
    assert refused.code == "verify_in_progress" and refused.retry_after_s == 6  # 5.5, rounded up


def test_a_refusal_while_one_runs_longer_than_the_last_says_one_second():
    clock = FakeClock()
    guard = VerifyGuard(0, clock=clock)
    with guard.running("dave"):
        clock.now += 60
        assert refusal(guard, "alice").retry_after_s == 1


def test_a_failed_verification_frees_the_slot_and_starts_the_cooldown():
    clock = FakeClock()
    guard = VerifyGuard(10, clock=clock)
    with pytest.raises(RuntimeError), guard.running("dave"):
        raise RuntimeError("the database went away")
    assert refusal(guard, "dave").code == "verify_cooldown"  # it read the table all the same
    with guard.running("alice"):
        pass


def test_the_cooldown_counts_from_the_end_of_a_verification_not_its_start():
    clock = FakeClock()
    guard = VerifyGuard(10, clock=clock)
    with guard.running("dave"):
        clock.now += 30
    clock.now += 4
    refused = refusal(guard, "dave")
    assert refused.code == "verify_cooldown" and refused.retry_after_s == 6

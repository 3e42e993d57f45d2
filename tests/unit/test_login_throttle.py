"""The login throttle policy: free attempts, then growing delays, then a block; success forgives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger.login_throttle import ThrottlePolicy, ThrottleState, attempt, forgive

POLICY = ThrottlePolicy(slow_after=3, block_after=6, block_for=timedelta(minutes=15))
T0 = datetime(2030, 1, 1, tzinfo=UTC)


def run(times: list[float]) -> list[tuple[bool, int]]:
    state: ThrottleState | None = None
    outcomes = []
    for t in times:
        decision = attempt(POLICY, state, T0 + timedelta(seconds=t))
        state = decision.state
        outcomes.append((decision.allowed, decision.retry_after))
    return outcomes


def test_first_attempts_are_free_then_each_waits_longer() -> None:
    assert run([0, 0, 0, 0]) == [(True, 0)] * 4
    # the 4th attempt makes the next one wait 1 s, the 5th 2 s
    assert run([0, 0, 0, 0, 0.5]) == [(True, 0)] * 4 + [(False, 1)]
    assert run([0, 0, 0, 0, 1, 2]) == [(True, 0)] * 5 + [(False, 1)]
    assert run([0, 0, 0, 0, 1, 3]) == [(True, 0)] * 6


def test_reaching_the_block_threshold_blocks_for_the_block_time() -> None:
    state = None
    for n in range(1, 7):
        decision = attempt(POLICY, state, T0 + timedelta(seconds=100 * n))
        assert decision.allowed
        assert decision.blocks == (n == 6)
        state = decision.state
    refused = attempt(POLICY, state, T0 + timedelta(seconds=601))
    assert not refused.allowed
    assert refused.retry_after == 15 * 60 - 1
    assert attempt(POLICY, state, T0 + timedelta(seconds=600 + 15 * 60)).allowed


def test_an_old_window_starts_over() -> None:
    state = ThrottleState(5, T0, T0)
    decision = attempt(POLICY, state, T0 + POLICY.window)
    assert decision.state.attempts == 1


def test_success_resets_an_account_but_only_forgives_one_attempt_of_a_client() -> None:
    state = ThrottleState(5, T0, T0 + timedelta(seconds=4))
    assert forgive(state, T0, reset=True) == ThrottleState(0, T0, T0)
    assert forgive(state, T0, reset=False) == ThrottleState(4, T0, T0 + timedelta(seconds=4))

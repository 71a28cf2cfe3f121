"""The payout state machine: every move the table does not allow is refused and writes nothing;
schedules fall on their days."""

from datetime import UTC, datetime

import pytest

from core.errors import ApplicationError
from payouts.models import Payout, PayoutEvent
from payouts.services import TRANSITIONS, schedule_next_at
from payouts.services.lifecycle import _transition
from payouts.tests.helpers import tasker_earning

pytestmark = pytest.mark.django_db

ALL = [s.value for s in Payout.Status]


def test_the_table_follows_the_design():
    assert TRANSITIONS["requested"] == {"processing", "on_hold", "cancelled"}
    assert TRANSITIONS["in_transit"] == {"paid", "failed"}
    assert TRANSITIONS["failed"] == {"processing", "cancelled"}
    assert TRANSITIONS["paid"] == set() and TRANSITIONS["cancelled"] == set()  # final: never moved back


@pytest.mark.parametrize("start", ALL)
def test_moves_the_table_does_not_allow_are_refused(payouts_world, start):
    tasker = tasker_earning("100.00")
    from payouts import services

    payout = services.payout_request(tasker=tasker, amount="20.00", currency="USD")
    for to in ALL:
        if to in TRANSITIONS[start]:
            continue
        Payout.objects.filter(pk=payout.pk).update(status=start)
        payout.refresh_from_db()
        events = PayoutEvent.objects.filter(payout=payout).count()
        with pytest.raises(ApplicationError) as refused:
            _transition(payout, to=to, kind=PayoutEvent.Kind.NEEDS_ATTENTION, actor=None)
        assert refused.value.code == "invalid_transition"
        payout.refresh_from_db()
        assert payout.status == start and PayoutEvent.objects.filter(payout=payout).count() == events
    Payout.objects.filter(pk=payout.pk).update(status=Payout.Status.PROCESSING)  # as it was, for the ledger check


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        ("weekly", datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 7, 6, 0, tzinfo=UTC)),  # a Tuesday
        ("weekly", datetime(2026, 12, 7, 5, 0, tzinfo=UTC), datetime(2026, 12, 14, 6, 0, tzinfo=UTC)),  # a Monday
        ("monthly", datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2027, 1, 1, 6, 0, tzinfo=UTC)),
        ("monthly", datetime(2027, 1, 31, 23, 0, tzinfo=UTC), datetime(2027, 2, 1, 6, 0, tzinfo=UTC)),
        ("manual", datetime(2026, 12, 1, 9, 0, tzinfo=UTC), None),
    ],
)
def test_schedules_fall_on_mondays_and_the_first_of_the_month(schedule, now, expected):
    assert schedule_next_at(schedule, now) == expected


def test_ledger_check_finds_payouts_whose_money_in_transit_does_not_match(payouts_world):
    from wallets.selectors import ledger_invariant_violations

    tasker = tasker_earning("100.00")
    from payouts import services

    payout = services.payout_request(tasker=tasker, amount="20.00", currency="USD")
    assert ledger_invariant_violations() == []
    Payout.objects.filter(pk=payout.pk).update(status="paid")  # as a bug would: no ledger entry
    found = [v for v in ledger_invariant_violations() if v.check == "payouts_in_transit_mismatch"]
    assert found and "20.00 USD" in found[0].message and "0 USD" in found[0].message
    Payout.objects.filter(pk=payout.pk).update(status="requested")  # back, for the fixture's check

from decimal import Decimal

import pytest

from payouts import services
from payouts.models import Payout
from payouts.tests.helpers import bank_answers, platform_funds_available, tasker_earning
from wallets.selectors import wallet_balances

pytestmark = pytest.mark.django_db


def test_smoke(payouts_world, django_capture_on_commit_callbacks):
    tasker = tasker_earning("100.00")
    platform_funds_available(payouts_world)
    with django_capture_on_commit_callbacks(execute=True):
        payout = services.payout_request(tasker=tasker, amount="50.00", currency="USD")
    payout.refresh_from_db()
    assert payout.status == Payout.Status.IN_TRANSIT, payout.events.all()
    bank_answers(payouts_world)
    services.payouts_refresh_in_transit(older_than=__import__("datetime").timedelta(0))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert wallet_balances(user=tasker)[0].available == Decimal("30.00")

"""Stripe misbehaving while a payout moves money: the transfer to the tasker's connected account, the
payout to their bank, and the reversal when the bank refuses it. Faults come from the emulator
(``stripe_emulator.faults``), over HTTP through the real SDK.

While the retries absorb a fault the payout completes once. When the fault outlasts them the payout
waits (visibly), the money stays reserved, and beat's ``payouts_execute_due`` (asked as if a minute
had passed) carries it on with the same idempotency keys: a transfer or bank payout Stripe made but
whose answer was lost is taken up, never made twice. The ledger's invariants hold after every test.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import TaskerFactory
from core.errors import ApplicationError
from payments.tests.fault_helpers import (  # noqa: F401  (quick_retries: a fixture)
    ABSORBED,
    inject,
    quick_retries,
    stored,
    times_absorbed,
    times_outlasting,
)
from payouts import services
from payouts.models import Payout, PayoutAccount
from payouts.tests.helpers import bank_answers, finance_user, platform_funds_available, tasker_earning
from wallets.selectors import wallet_balances

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("payouts_world", "quick_retries")]

S = Payout.Status
CALLS = ["POST /v1/transfers", "POST /v1/payouts"]


def _available(tasker) -> Decimal:
    return next(b.available for b in wallet_balances(user=tasker) if b.currency == "USD")


def _at_stripe(server, payout) -> tuple[list[int], list[int]]:
    """The transfers to the tasker's account and the bank payouts from it, in cents."""
    account = payout.account.reference
    transfers = [t["amount"] for t in stored(server, "transfers", destination=account)]
    bank_payouts = [p["amount"] for p in stored(server, "payouts", _account=account)]
    return transfers, bank_payouts


@pytest.mark.parametrize("fault", ABSORBED)
@pytest.mark.parametrize("call", CALLS)
def test_a_payout_goes_through_once_when_the_retries_absorb_the_fault(payouts_world, run_on_commit, fault, call):
    tasker = tasker_earning("100.00")  # 80.00 in the wallet
    platform_funds_available(payouts_world)
    inject(payouts_world, call, fault, times_absorbed(fault))

    payout = run_on_commit(services.payout_request, tasker=tasker, amount="50.00", currency="USD")

    payout.refresh_from_db()
    assert payout.status == S.IN_TRANSIT
    assert payouts_world.fault_counts()[fault] == times_absorbed(fault)
    assert _at_stripe(payouts_world, payout) == ([5000], [5000])
    assert _available(tasker) == Decimal("30.00")


@pytest.mark.parametrize("fault", ABSORBED)
@pytest.mark.parametrize("call", CALLS)
def test_a_payout_whose_fault_outlasts_the_retries_waits_and_beat_completes_it_once(payouts_world, fault, call):
    tasker = tasker_earning("100.00")
    platform_funds_available(payouts_world)
    payout = services.payout_request(tasker=tasker, amount="50.00", currency="USD")  # its job not run yet
    assert payout.status == S.PROCESSING
    inject(payouts_world, call, fault, times_outlasting(fault))

    with pytest.raises(ApplicationError) as failed:  # what the Celery task sees (it retries too)
        services.payout_execute(payout_id=payout.pk)
    assert failed.value.code in {"payment_provider_unavailable", "payment_provider_rate_limited"}
    payout.refresh_from_db()
    assert payout.status == S.PROCESSING and payout.waiting == Payout.Waiting.PROCESSOR_UNAVAILABLE
    assert _available(tasker) == Decimal("30.00")  # still reserved: not spendable, not lost
    made = 1 if fault == "lost_answer" else 0  # Stripe did the work whose answer was lost
    expected = ([5000] * made, []) if call == "POST /v1/transfers" else ([5000], [5000] * made)
    assert _at_stripe(payouts_world, payout) == expected
    assert services.payouts_execute_due(now=timezone.now()) == []  # not before its time

    due = services.payouts_execute_due(now=timezone.now() + timedelta(seconds=61))
    assert due == [payout.pk]
    for payout_id in due:  # what the beat task enqueues
        services.payout_execute(payout_id=payout_id)

    payout.refresh_from_db()
    assert payout.status == S.IN_TRANSIT and payout.waiting == ""
    assert _at_stripe(payouts_world, payout) == ([5000], [5000])
    bank_answers(payouts_world)
    assert services.payouts_refresh_in_transit(older_than=timedelta(0)) == 1  # no webhook in this test
    payout.refresh_from_db()
    assert payout.status == S.PAID and _available(tasker) == Decimal("30.00")
    run = services.payouts_reconcile()
    assert run.differences == 0, list(run.items.values_list("message", flat=True))


@pytest.mark.parametrize("fault", ABSORBED)
def test_a_bank_refusal_whose_reversal_goes_unanswered_returns_the_money_once_on_the_next_refresh(
    payouts_world, run_on_commit, fault
):
    tasker = tasker_earning("100.00", bank="btok_us_verified_noAccount")
    platform_funds_available(payouts_world)
    payout = run_on_commit(services.payout_request, tasker=tasker, amount="50.00", currency="USD")
    payout.refresh_from_db()
    assert payout.status == S.IN_TRANSIT and _available(tasker) == Decimal("30.00")
    bank_answers(payouts_world)  # the bank refuses the payout
    inject(payouts_world, "POST /v1/transfers/*/reversals", fault, times_outlasting(fault))

    assert services.payouts_refresh_in_transit(older_than=timedelta(0)) == 0  # Stripe did not answer
    payout.refresh_from_db()
    assert payout.status == S.IN_TRANSIT and _available(tasker) == Decimal("30.00")  # no money made up

    assert services.payouts_refresh_in_transit(older_than=timedelta(0)) == 1
    payout.refresh_from_db()
    assert payout.status == S.FAILED and payout.failure_code == "no_account"
    assert _available(tasker) == Decimal("80.00")  # back in the wallet, once
    reversals = stored(payouts_world, "transfer_reversals")
    assert [r["amount"] for r in reversals] == [5000]


def test_a_payout_whose_transfer_went_unanswered_cannot_be_cancelled_until_stripe_says(payouts_world):
    tasker = tasker_earning("100.00")
    platform_funds_available(payouts_world)
    payout = services.payout_request(tasker=tasker, amount="50.00", currency="USD")
    inject(payouts_world, "POST /v1/transfers", "lost_answer", times_outlasting("lost_answer"))
    with pytest.raises(ApplicationError):
        services.payout_execute(payout_id=payout.pk)
    assert _at_stripe(payouts_world, payout) == ([5000], [])  # Stripe made it; Holdfast does not know

    # Cancelling now would put the 50.00 back in the wallet while it also sits on the tasker's
    # connected account: the money would exist twice.
    with pytest.raises(ApplicationError) as refused:
        services.payout_cancel(payout=payout, actor=tasker)
    assert refused.value.code == "payout_transfer_unconfirmed" and refused.value.message
    with pytest.raises(ApplicationError) as refused:  # nor held (a cancel from the hold would be the same)
        services.payout_hold(payout=payout, actor=finance_user(), reason="Checking")
    assert refused.value.code == "payout_transfer_unconfirmed"
    payout.refresh_from_db()
    assert payout.status == S.PROCESSING and _available(tasker) == Decimal("30.00")

    # Beat asks again with the same key: the transfer Stripe made is taken up, and paid out, once.
    for payout_id in services.payouts_execute_due(now=timezone.now() + timedelta(seconds=61)):
        services.payout_execute(payout_id=payout_id)
    payout.refresh_from_db()
    assert payout.status == S.IN_TRANSIT and _at_stripe(payouts_world, payout) == ([5000], [5000])
    with pytest.raises(ApplicationError) as refused:
        services.payout_cancel(payout=payout, actor=tasker)
    assert refused.value.code == "payout_not_stoppable"
    assert _available(tasker) == Decimal("30.00")


@pytest.mark.parametrize("fault", ABSORBED)
def test_a_connected_account_lost_or_refused_past_the_retries_is_made_once_on_the_next_try(payouts_world, fault):
    tasker = TaskerFactory()
    inject(payouts_world, "POST /v1/accounts", fault, times_outlasting(fault))
    with pytest.raises(ApplicationError) as failed:
        services.payout_account_get_or_create(user=tasker)
    assert failed.value.code in {"payment_provider_unavailable", "payment_provider_rate_limited"}
    assert not PayoutAccount.objects.filter(user=tasker).exists()
    assert len(stored(payouts_world, "accounts", type="express")) == (1 if fault == "lost_answer" else 0)

    account = services.payout_account_get_or_create(user=tasker)
    assert [a["id"] for a in stored(payouts_world, "accounts", type="express")] == [account.reference]


@pytest.mark.parametrize("seed", [1, 2])
def test_payouts_under_random_faults_are_each_transferred_and_paid_out_once(payouts_world, seed):
    taskers = [tasker_earning("100.00") for _ in range(4)]
    platform_funds_available(payouts_world)
    payouts = [services.payout_request(tasker=t, amount="50.00", currency="USD") for t in taskers]
    payouts_world.configure_faults(
        seed=seed,
        rules=[
            {"match": "* /v1/*", "fault": "lost_answer", "probability": 0.3},
            {"match": "* /v1/*", "fault": "error_500", "probability": 0.3},
            {"match": "* /v1/*", "fault": "rate_limit_429", "probability": 0.2},
        ],
    )
    gave_up = 0
    now = timezone.now()
    for round_ in range(6):  # the job, then beat every few minutes (a minute and more apart)
        due = [p.pk for p in payouts] if round_ == 0 else services.payouts_execute_due(now=now)
        for payout_id in due:
            try:
                services.payout_execute(payout_id=payout_id)
            except ApplicationError:
                gave_up += 1
        now += timedelta(seconds=61)
    assert gave_up > 0  # the faults outlasted the retries at times
    payouts_world.configure_faults()
    for payout_id in services.payouts_execute_due(now=now):
        services.payout_execute(payout_id=payout_id)

    bank_answers(payouts_world)
    services.payouts_refresh_in_transit(older_than=timedelta(0))
    for payout, tasker in zip(payouts, taskers, strict=True):
        payout.refresh_from_db()
        assert payout.status == S.PAID
        assert _at_stripe(payouts_world, payout) == ([5000], [5000])
        assert _available(tasker) == Decimal("30.00")
    run = services.payouts_reconcile()
    assert run.differences == 0, list(run.items.values_list("message", flat=True))


@pytest.mark.django_db(transaction=True)
def test_a_payout_whose_transfer_is_in_flight_cannot_be_cancelled_and_a_lost_job_is_carried_on_once(payouts_world):
    """While Stripe makes the transfer and its answer has not come back, the payout is in the state a
    worker killed mid-call leaves: it can be neither cancelled nor held (its money may already be
    on the tasker's account), and beat's ``payouts_execute_due`` takes the transfer up with the same
    key instead of making a second one."""
    import threading

    from django.db import connection

    tasker = tasker_earning("100.00")
    platform_funds_available(payouts_world)
    # Held for 3 s: a second request with the same key waits for the first one's answer, as at Stripe.
    payouts_world.configure_faults(rules=[{"match": "POST /v1/transfers", "fault": "hang", "seconds": 3, "max": 1}])

    def execute():  # the request, then its job (on commit; eager here)
        try:
            services.payout_request(tasker=tasker, amount="50.00", currency="USD")
        finally:
            connection.close()

    worker = threading.Thread(target=execute)
    worker.start()
    for _ in range(500):  # until Stripe has made the transfer and holds its answer
        if payouts_world.fault_counts()["hang"]:
            break
        threading.Event().wait(0.01)
    assert payouts_world.fault_counts()["hang"] == 1
    payout = Payout.objects.get(tasker=tasker)
    for stop in (
        lambda: services.payout_cancel(payout=payout, actor=tasker),
        lambda: services.payout_hold(payout=payout, actor=finance_user(), reason="Checking"),
    ):
        with pytest.raises(ApplicationError) as refused:
            stop()
        assert refused.value.code == "payout_transfer_unconfirmed"
    assert _available(tasker) == Decimal("30.00")  # still reserved for the payout

    # The job is as good as lost; beat carries the payout on, asking with the same keys.
    due = services.payouts_execute_due(now=timezone.now() + timedelta(minutes=11))
    assert due == [payout.pk]
    services.payout_execute(payout_id=payout.pk)
    worker.join(30)  # the first request's answer arrives too

    assert not worker.is_alive()
    payout.refresh_from_db()
    assert payout.status == S.IN_TRANSIT
    assert _at_stripe(payouts_world, payout) == ([5000], [5000])  # one transfer, one bank payout
    assert _available(tasker) == Decimal("30.00")

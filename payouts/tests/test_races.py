"""Payouts under races, duplicates and reordering on the real database (transactions committed,
threads behind a barrier), and payout webhooks delivered by the emulator to the running app's
Connect endpoint."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from core.errors import ApplicationError
from payouts import services
from payouts.models import Payout
from payouts.tests.helpers import bank_answers, finance_user, platform_funds_available, tasker_earning
from processors.models import ProcessorTransaction
from processors.stripe.setup import stripe_setup
from wallets.models import JournalEntry
from wallets.selectors import ledger_invariant_violations, wallet_balances

pytestmark = pytest.mark.django_db(transaction=True)

S = Payout.Status


def _race(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes = []

    def run(call):
        try:
            barrier.wait()
            outcomes.append(call())
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _available(tasker) -> Decimal:
    return next(b.available for b in wallet_balances(user=tasker) if b.currency == "USD")


@pytest.fixture
def world(stripe_emulator, settings):
    settings.PAYOUT_FIRST_NEEDS_APPROVAL = True  # requests stay in "requested": no processor calls in the race
    yield stripe_emulator
    assert ledger_invariant_violations() == []


@pytest.mark.parametrize("round_", range(3))
def test_two_requests_for_the_whole_balance_at_once_make_exactly_one(world, round_):
    tasker = tasker_earning("100.00")  # 80.00

    outcomes = _race(
        lambda: services.payout_request(tasker=tasker, amount="80.00", currency="USD"),
        lambda: services.payout_request(tasker=tasker, amount="80.00", currency="USD"),
    )

    assert sorted(o if isinstance(o, str) else "made" for o in outcomes) == ["insufficient_funds", "made"]
    assert Payout.objects.filter(tasker=tasker).count() == 1
    assert _available(tasker) == Decimal("0.00")
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.PAYOUT).count() == 1


@pytest.mark.parametrize("round_", range(3))
def test_approve_and_cancel_at_once_have_one_outcome(world, round_):
    tasker = tasker_earning("100.00")
    platform_funds_available(world)
    finance = finance_user()
    payout = services.payout_request(tasker=tasker, amount="50.00", currency="USD")

    _race(
        lambda: services.payout_approve(payout=payout, actor=finance),
        lambda: services.payout_cancel(payout=payout, actor=tasker),
    )

    payout.refresh_from_db()
    records = ProcessorTransaction.objects.filter(subject_id=str(payout.pk))
    if payout.status == S.CANCELLED:
        assert _available(tasker) == Decimal("80.00")
        # Cancelled while the approved payout's transfer was on its way: that transfer is reversed.
        assert records.filter(kind="transfer").count() == records.filter(kind="transfer_reversal").count()
    else:  # approved first: the cancel found it on its way (or already sent) and was refused
        services.payout_execute(payout_id=payout.pk)
        payout.refresh_from_db()
        assert payout.status == S.IN_TRANSIT and _available(tasker) == Decimal("30.00")
        assert ProcessorTransaction.objects.filter(subject_id=str(payout.pk), kind="transfer").count() == 1


@pytest.mark.parametrize("bank", ["btok_us_verified", "btok_us_verified_noAccount"])
def test_payout_webhooks_delivered_twice_and_shuffled_have_one_outcome(world, live_server, settings, bank):
    settings.PAYOUT_FIRST_NEEDS_APPROVAL = False
    stripe_setup(site_url=live_server.url)  # the platform and Connect endpoints, at the emulator
    world.configure_webhooks(duplicates=2, shuffle=True)
    tasker = tasker_earning("100.00", bank=bank)
    platform_funds_available(world)
    payout = services.payout_request(tasker=tasker, amount="80.00", currency="USD")
    services.payout_execute(payout_id=payout.pk)
    assert world.wait_for_deliveries(timeout=30)

    bank_answers(world)  # payout.updated (in transit), then payout.paid or payout.failed, each twice, shuffled
    assert world.wait_for_deliveries(timeout=30)

    payout.refresh_from_db()
    if bank == "btok_us_verified":
        assert payout.status == S.PAID and _available(tasker) == Decimal("0.00")
        assert JournalEntry.objects.filter(kind=JournalEntry.Kind.PAYOUT_PAID).count() == 1
    else:
        assert payout.status == S.FAILED and _available(tasker) == Decimal("80.00")
        assert JournalEntry.objects.filter(kind=JournalEntry.Kind.PAYOUT_REVERSAL).count() == 1
        assert ProcessorTransaction.objects.filter(kind="transfer_reversal").count() == 1


def test_bank_answers_settled_at_once_from_two_workers_settle_once(world, settings):
    settings.PAYOUT_FIRST_NEEDS_APPROVAL = False
    tasker = tasker_earning("100.00", bank="btok_us_verified_noAccount")
    platform_funds_available(world)
    payout = services.payout_request(tasker=tasker, amount="80.00", currency="USD")
    services.payout_execute(payout_id=payout.pk)
    payout.refresh_from_db()
    bank_answers(world)
    reference = payout.bank_payout.reference

    _race(*[lambda: services.payout_bank_payout_settle(reference=reference, event_id="evt_x")] * 3)

    payout.refresh_from_db()
    assert payout.status == S.FAILED and _available(tasker) == Decimal("80.00")
    assert payout.events.filter(kind="money_returned").count() == 1


def test_bank_account_changed_in_the_dashboard_reaches_holdfast_by_webhook(world, live_server):
    stripe_setup(site_url=live_server.url)
    tasker = tasker_earning("100.00", bank="btok_us_verified_noAccount")
    assert world.wait_for_deliveries(timeout=30)
    from payouts.models import PayoutAccount

    account = PayoutAccount.objects.get(user=tasker)
    PayoutAccount.objects.filter(pk=account.pk).update(bank_problem="The bank account was closed.")
    import stripe
    from django.conf import settings

    stripe.Account.create_external_account(
        account.reference,
        external_account="000123456789",
        api_key=settings.STRIPE_SECRET_KEY,
        api_base=settings.STRIPE_EMULATOR_URL,
    )
    assert world.wait_for_deliveries(timeout=30)
    account_events = [d for d in world.dispatcher.snapshot() if d["event_type"].startswith("account.")]
    assert account_events and all(d["delivered"] for d in account_events), account_events
    account.refresh_from_db()
    assert account.bank_problem == "" and account.bank_last4 == "6789"


def test_a_payout_cannot_be_held_while_its_transfer_is_being_made(world, settings, monkeypatch):
    """The executor sent the transfer; Finance tries to hold the payout before the answer is back.
    Refused: the money may already be on the tasker's account, and if the executor died now a hold
    (or a cancel from it) would put it back in the wallet too. The payout goes on, with one transfer."""
    from core.errors import ApplicationError
    from payouts.services import execution, requests

    settings.PAYOUT_FIRST_NEEDS_APPROVAL = False
    monkeypatch.setattr(requests, "_enqueue_execute", lambda payout: None)  # this test runs the executor
    tasker = tasker_earning("100.00")
    platform_funds_available(world)
    finance = finance_user()
    payout = services.payout_request(tasker=tasker, amount="50.00", currency="USD")
    real = execution._transfer_recorded
    refusals = []

    def hold_tried_meanwhile(**kwargs):
        try:
            services.payout_hold(payout=payout, actor=finance, reason="Looking at it")
        except ApplicationError as exc:
            refusals.append(exc.code)
        return real(**kwargs)

    monkeypatch.setattr(execution, "_transfer_recorded", hold_tried_meanwhile)
    services.payout_execute(payout_id=payout.pk)
    payout.refresh_from_db()
    assert refusals == ["payout_transfer_unconfirmed"]
    assert payout.status == S.IN_TRANSIT and payout.transfer_sent_at is None
    assert ProcessorTransaction.objects.filter(subject_id=str(payout.pk), kind="transfer").count() == 1
    assert not ProcessorTransaction.objects.filter(subject_id=str(payout.pk), kind="transfer_reversal").exists()

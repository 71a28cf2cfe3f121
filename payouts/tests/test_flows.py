"""Whole payout paths on the Stripe emulator over HTTP (through the stripe SDK): onboard → request →
approve → transfer → bank payout → paid; a failing bank account; funds not yet available."""

from datetime import timedelta
from decimal import Decimal

import pytest
import stripe
from django.conf import settings

from accounts.tests.factories import TaskerFactory
from payouts import services
from payouts.models import Payout, PayoutAccount, PayoutEvent
from payouts.selectors import payout_statement, requirements_in_words
from payouts.tests.helpers import (
    bank_answers,
    connect_events,
    deliver,
    earn,
    emulator,
    finance_user,
    onboard,
    platform_funds_available,
    tasker_earning,
)
from processors.models import ProcessorTransaction
from wallets.models import JournalEntry
from wallets.selectors import wallet_balances, wallet_statement

pytestmark = pytest.mark.django_db

S = Payout.Status


def available(tasker, currency="USD") -> Decimal:
    return next(b.available for b in wallet_balances(user=tasker) if b.currency == currency)


def _stripe_transfers(destination: str) -> list:
    return list(
        stripe.Transfer.list(
            destination=destination, api_key=settings.STRIPE_SECRET_KEY, api_base=settings.STRIPE_EMULATOR_URL
        ).auto_paging_iter()
    )


def test_onboarding_reads_what_stripe_needs_then_the_account_is_ready(stripe_emulator, ledger_holds):
    tasker = TaskerFactory()
    account = services.payout_account_get_or_create(user=tasker)
    assert account.status == PayoutAccount.Status.ONBOARDING
    assert "The bank account your payouts go to" in requirements_in_words(account.requirements_due)
    assert services.payout_account_get_or_create(user=tasker).reference == account.reference  # one account

    link = services.payout_onboarding_link(
        user=tasker, refresh_url="http://testserver/refresh", return_url="http://testserver/return"
    )
    assert "/emulator/onboarding/" in link
    stripe_account = stripe.Account.retrieve(
        account.reference, api_key=settings.STRIPE_SECRET_KEY, api_base=settings.STRIPE_EMULATOR_URL
    )
    assert stripe_account.settings.payouts.schedule.interval == "manual"  # Holdfast decides when money moves

    emulator(f"/emulator/accounts/{account.reference}/complete_onboarding")
    deliver(connect_events(stripe_emulator, "account.updated"))  # account.updated on the Connect endpoint

    account.refresh_from_db()
    assert account.status == PayoutAccount.Status.ENABLED and account.requirements_due == []
    assert account.bank_name == "STRIPE TEST BANK" and account.bank_last4 == "6789" and account.bank_currency == "USD"
    assert "/emulator/express/" in services.payout_dashboard_link(user=tasker)


def test_first_payout_is_approved_transferred_paid_out_and_paid(stripe_emulator, ledger_holds, run_on_commit):
    tasker = tasker_earning("100.00")  # 80.00 in the wallet
    platform_funds_available(stripe_emulator)
    finance = finance_user()

    payout = run_on_commit(services.payout_request, tasker=tasker, amount="50.00", currency="USD")
    assert payout.status == S.REQUESTED and payout.needs_approval  # a tasker's first payout
    assert available(tasker) == Decimal("30.00")  # out of the available balance at once

    run_on_commit(services.payout_approve, payout=payout, actor=finance)
    payout.refresh_from_db()
    assert payout.status == S.IN_TRANSIT
    transfers = _stripe_transfers(payout.account.reference)
    assert [t.amount for t in transfers] == [5000]
    assert transfers[0].metadata["payout_id"] == str(payout.pk)

    bank_answers(stripe_emulator)
    deliver(connect_events(stripe_emulator, "payout.paid", "payout.updated"))

    payout.refresh_from_db()
    assert payout.status == S.PAID and payout.paid_at is not None
    kinds = list(payout.events.values_list("kind", flat=True))
    assert kinds == ["requested", "approved", "processing", "transferred", "in_transit", "paid"]
    assert available(tasker) == Decimal("30.00")
    assert set(ProcessorTransaction.objects.filter(subject_id=str(payout.pk)).values_list("kind", flat=True)) >= {
        "transfer",
        "bank_payout",
        "bank_payout_paid",
    }
    # the second payout needs no approval any more
    second = run_on_commit(services.payout_request, tasker=tasker, amount="30.00", currency="USD")
    second.refresh_from_db()
    assert second.status == S.IN_TRANSIT


def test_failing_bank_returns_money_then_bank_updated_and_retried_is_paid(payouts_world, run_on_commit):
    tasker = tasker_earning("100.00", bank="btok_us_verified_noAccount")
    platform_funds_available(payouts_world)

    payout = run_on_commit(services.payout_request, tasker=tasker, amount="80.00", currency="USD")
    payout.refresh_from_db()
    assert payout.status == S.IN_TRANSIT and available(tasker) == Decimal("0.00")

    bank_answers(payouts_world)
    events = connect_events(payouts_world, "payout.failed")
    deliver(events)
    deliver(events)  # delivered twice: one outcome

    payout.refresh_from_db()
    assert payout.status == S.FAILED and payout.failure_code == "no_account"
    assert "No bank account could be located" in payout.failure_message
    assert available(tasker) == Decimal("80.00")  # back in the wallet, once
    returned = wallet_statement(user=tasker, currency="USD").filter(entry__kind=JournalEntry.Kind.PAYOUT_REVERSAL)
    assert returned.count() == 1 and "No bank account could be located" in returned.get().entry.memo
    transfer = stripe.Transfer.retrieve(
        payout.transfer.reference, api_key=settings.STRIPE_SECRET_KEY, api_base=settings.STRIPE_EMULATOR_URL
    )
    assert transfer.reversed is True  # the money went back to the platform too
    account = PayoutAccount.objects.get(user=tasker)
    assert "No bank account could be located" in account.bank_problem

    # The tasker fixes the bank details in the Express dashboard; account.updated says so.
    stripe.Account.create_external_account(
        account.reference,
        external_account="btok_us_verified",
        api_key=settings.STRIPE_SECRET_KEY,
        api_base=settings.STRIPE_EMULATOR_URL,
    )
    deliver(connect_events(payouts_world, "account.external_account.created"))
    account.refresh_from_db()
    assert account.bank_problem == ""

    run_on_commit(services.payout_retry, payout=payout, actor=tasker)
    payout.refresh_from_db()
    assert payout.status == S.IN_TRANSIT and payout.attempt == 2 and available(tasker) == Decimal("0.00")
    bank_answers(payouts_world)
    deliver(connect_events(payouts_world, "payout.paid", "payout.failed"))  # the old failure again, too

    payout.refresh_from_db()
    assert payout.status == S.PAID and available(tasker) == Decimal("0.00")
    assert len(_stripe_transfers(account.reference)) == 2  # one per attempt


def test_payout_waits_for_card_funds_then_beat_sends_it(payouts_world, run_on_commit):
    tasker = tasker_earning("100.00")  # the card charge is not available at Stripe for two days

    payout = run_on_commit(services.payout_request, tasker=tasker, amount="40.00", currency="USD")
    payout.refresh_from_db()
    assert payout.status == S.PROCESSING and payout.waiting == Payout.Waiting.PLATFORM_FUNDS
    assert payout.events.filter(kind=PayoutEvent.Kind.WAITING).count() == 1
    services.payout_execute(payout_id=payout.pk)  # tried again too early: still waiting, said once
    assert payout.events.filter(kind=PayoutEvent.Kind.WAITING).count() == 1
    assert services.payouts_execute_due() == []  # not due yet

    platform_funds_available(payouts_world)
    due = services.payouts_execute_due(now=payout.next_attempt_at + timedelta(seconds=1))
    assert due == [payout.pk]
    services.payout_execute(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == S.IN_TRANSIT and payout.waiting == ""

    bank_answers(payouts_world)
    assert services.payouts_refresh_in_transit(older_than=timedelta(0)) == 1  # no webhook came: read back
    payout.refresh_from_db()
    assert payout.status == S.PAID


def test_statement_names_the_released_escrows_oldest_first(payouts_world, run_on_commit):
    tasker = TaskerFactory()
    first = earn(tasker, "50.00")  # 40.00
    second = earn(tasker, "100.00")  # 80.00
    onboard(tasker)
    platform_funds_available(payouts_world)

    one = run_on_commit(services.payout_request, tasker=tasker, amount="30.00", currency="USD")
    two = run_on_commit(services.payout_request, tasker=tasker, amount="60.00", currency="USD")

    assert [(line.label, line.amount) for line in payout_statement(payout=one)] == [
        (first.task.title, Decimal("30.00"))
    ]
    assert [(line.label, line.amount) for line in payout_statement(payout=two)] == [
        (first.task.title, Decimal("10.00")),
        (second.task.title, Decimal("50.00")),
    ]
    assert payout_statement(payout=two)[0].url == first.task.get_absolute_url()


def test_large_payout_needs_two_different_finance_users(payouts_world, run_on_commit, settings):
    settings.PAYOUT_APPROVAL_THRESHOLD = Decimal("20.00")
    settings.PAYOUT_SECOND_APPROVAL_THRESHOLD = Decimal("50.00")
    tasker = tasker_earning("100.00")
    platform_funds_available(payouts_world)
    maker, checker = finance_user(), finance_user()

    payout = run_on_commit(services.payout_request, tasker=tasker, amount="60.00", currency="USD")
    assert payout.approvals_required == 2
    run_on_commit(services.payout_approve, payout=payout, actor=maker)
    payout.refresh_from_db()
    assert payout.status == S.REQUESTED and payout.approved_by == maker

    with pytest.raises(Exception) as same:
        services.payout_approve(payout=payout, actor=maker)
    assert same.value.code == "second_approver_same"

    run_on_commit(services.payout_approve, payout=payout, actor=checker)
    payout.refresh_from_db()
    assert payout.status == S.IN_TRANSIT and payout.second_approved_by == checker


def test_hold_release_and_cancel_return_the_money(payouts_world, run_on_commit):
    tasker = tasker_earning("100.00")
    finance = finance_user()
    from django.test import override_settings

    with override_settings(PAYOUT_FIRST_NEEDS_APPROVAL=True):
        payout = run_on_commit(services.payout_request, tasker=tasker, amount="80.00", currency="USD")
    services.payout_hold(payout=payout, actor=finance, reason="Checking the tasker's identity")
    payout.refresh_from_db()
    assert payout.status == S.ON_HOLD and payout.hold_reason
    services.payout_release_hold(payout=payout, actor=finance)
    payout.refresh_from_db()
    assert payout.status == S.REQUESTED  # back to approval: not approved yet

    services.payout_cancel(payout=payout, actor=finance, reason="Refused: account under review")
    payout.refresh_from_db()
    assert payout.status == S.CANCELLED and available(tasker) == Decimal("80.00")
    services.payout_cancel(payout=payout, actor=finance, reason="again")  # a double click
    assert available(tasker) == Decimal("80.00")


def test_weekly_schedule_requests_the_balance_above_its_threshold(payouts_world, run_on_commit):
    tasker = tasker_earning("100.00")
    account = services.payout_schedule_set(user=tasker, schedule="weekly", currency="USD", threshold="100.00")
    assert account.schedule_next_at.weekday() == 0

    assert services.payouts_schedule_due(now=account.schedule_next_at) == 0  # 80.00 is below the threshold
    account.refresh_from_db()
    services.payout_schedule_set(user=tasker, schedule="weekly", currency="USD", threshold="50.00")
    account.refresh_from_db()
    assert run_on_commit(services.payouts_schedule_due, now=account.schedule_next_at) == 1
    payout = Payout.objects.get(tasker=tasker)
    assert payout.scheduled and payout.amount == Decimal("80.00") and available(tasker) == Decimal("0.00")
    account.refresh_from_db()
    assert services.payouts_schedule_due(now=account.schedule_next_at - timedelta(seconds=1)) == 0


def test_reconciliation_agrees_after_payouts_and_flags_a_difference(payouts_world, run_on_commit):
    tasker = tasker_earning("100.00")
    platform_funds_available(payouts_world)
    paid = run_on_commit(services.payout_request, tasker=tasker, amount="50.00", currency="USD")
    bank_answers(payouts_world)
    services.payouts_refresh_in_transit(older_than=timedelta(0))
    in_transit = run_on_commit(services.payout_request, tasker=tasker, amount="30.00", currency="USD")

    run = services.payouts_reconcile()
    assert run.payouts_checked == 2 and run.differences == 0, list(run.items.values_list("message", flat=True))

    # Someone cancels the bank payout in the Stripe dashboard: Holdfast lists it and changes nothing.
    in_transit.refresh_from_db()
    stripe.Payout.cancel(
        in_transit.bank_payout.reference,
        stripe_account=in_transit.account.reference,
        api_key=settings.STRIPE_SECRET_KEY,
        api_base=settings.STRIPE_EMULATOR_URL,
    )
    run = services.payouts_reconcile()
    messages = list(run.items.values_list("message", flat=True))
    assert f"Payout #{in_transit.pk} is on its way to the bank in Holdfast, canceled at Stripe." in messages
    in_transit.refresh_from_db()
    paid.refresh_from_db()
    assert in_transit.status == S.IN_TRANSIT and paid.status == S.PAID


def test_rate_limited_stripe_writes_are_retried_and_act_once(payouts_world, run_on_commit, settings):
    settings.STRIPE_MAX_WRITES_PER_SECOND = 0  # no pacing: the 429 retry alone must carry it
    settings.STRIPE_RATE_LIMIT_BACKOFF_BASE = 0.05
    settings.STRIPE_RATE_LIMIT_BACKOFF_CAP = 0.5
    taskers = [tasker_earning("100.00") for _ in range(3)]
    platform_funds_available(payouts_world)
    payouts_world.configure_rate_limit(per_second=2)
    try:
        payouts = [run_on_commit(services.payout_request, tasker=t, amount="20.00", currency="USD") for t in taskers]
        limiter = payouts_world._rate_limiter.state()
    finally:
        payouts_world.configure_rate_limit(per_second=0)
    assert limiter["refused"] > 0  # Stripe said 429 …
    for payout in payouts:  # … and every payout went through, once
        payout.refresh_from_db()
        assert payout.status == S.IN_TRANSIT
        assert len(_stripe_transfers(payout.account.reference)) == 1

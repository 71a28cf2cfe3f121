"""Wallet top-ups by card, escrows paid from the wallet, refunds back to it, withdrawals to the card,
and saved cards — through the services, on the emulator, the ledger checked after every test."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from accounts.tests.factories import ClientFactory
from core.errors import ApplicationError
from disputes.models import Dispute
from disputes.services import dispute_settlement_accept
from payments import cards, topups
from payments import escrow as services
from payments.models import Escrow, WalletTopUp, WalletWithdrawal
from payments.tests.factories import escrow_awaiting_payment
from processors.interface import PaymentError
from processors.models import ProcessorTransaction
from processors.stripe import gateway
from wallets.models import JournalEntry, LedgerAccount
from wallets.selectors import wallet_statement

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulated_escrows")]


def wallet_balance(user, currency="USD") -> Decimal:
    account = LedgerAccount.objects.filter(kind=LedgerAccount.Kind.USER_WALLET, user=user, currency=currency).first()
    return account.balance if account else Decimal("0.00")


def top_up(client, amount="200.00", currency="USD", card="pm_card_visa") -> WalletTopUp:
    """Top up through the services, then do what the payment_intent.succeeded webhook task does."""
    made = topups.top_up_create(client=client, amount=amount, currency=currency)
    topups.top_up_payment_confirm(top_up=made, actor=client, payment_method=card, return_url="http://testserver/")
    made.refresh_from_db()
    topups.top_up_fund_from_payment(payment_reference=made.payment.reference)
    made.refresh_from_db()
    return made


def test_top_up_fund_an_escrow_refund_to_the_wallet_and_withdraw_the_rest_to_the_card():
    client = ClientFactory()
    made = top_up(client, "200.00")
    assert made.status == WalletTopUp.Status.SUCCEEDED and wallet_balance(client) == Decimal("200.00")
    # The webhook again (a duplicate) moves nothing more.
    topups.top_up_fund_from_payment(payment_reference=made.payment.reference)
    assert wallet_balance(client) == Decimal("200.00")
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.WALLET_TOP_UP).count() == 1

    escrow = escrow_awaiting_payment(amount="100.00", client=client)  # 105.00 with the service fee
    calls_before = ProcessorTransaction.objects.count()
    escrow = services.escrow_fund_from_wallet(escrow=escrow, actor=client)
    assert escrow.status == Escrow.Status.FUNDED and escrow.funding_source == Escrow.FundingSource.WALLET
    assert escrow.task.status == "in_progress"
    assert wallet_balance(client) == Decimal("95.00")
    assert ProcessorTransaction.objects.count() == calls_before  # no processor involved
    assert services.escrow_fund_from_wallet(escrow=escrow, actor=client).pk == escrow.pk  # a double click
    assert wallet_balance(client) == Decimal("95.00")

    refund = services.escrow_refund(escrow=escrow, amount=Decimal("40.00"), actor=None, reason="Part not done")
    assert refund.status == "succeeded" and refund.processor_reference == ""
    assert wallet_balance(client) == Decimal("135.00")

    withdrawal = topups.top_up_withdraw(top_up=made, actor=client)
    assert withdrawal.status == WalletWithdrawal.Status.SUCCEEDED and withdrawal.amount == Decimal("135.00")
    assert wallet_balance(client) == Decimal("0.00")
    # The refund went to the top-up's own payment, so to the card that paid it.
    charge = gateway.charge_retrieve(made.payment.charge_reference)
    assert charge.amount_refunded == 13500

    kinds = [p.entry.kind for p in wallet_statement(user=client, currency="USD")]
    assert kinds == ["wallet_withdrawal", "escrow_refund", "wallet_payment", "wallet_top_up"]


def test_a_full_refund_of_a_wallet_paid_escrow_goes_back_to_the_wallet():
    client = ClientFactory()
    top_up(client, "105.00")
    escrow = escrow_awaiting_payment(amount="100.00", client=client)
    escrow = services.escrow_fund_from_wallet(escrow=escrow, actor=client)
    services.escrow_cancel(escrow=escrow, actor=client, reason="Changed my mind")
    # The work has started: the cancel asks the tasker, who agrees to the full refund.
    dispute_settlement_accept(dispute=Dispute.objects.get(escrow=escrow), actor=escrow.tasker)
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED
    assert wallet_balance(client) == Decimal("105.00")


def test_bad_input_is_refused_clearly_and_moves_nothing():
    client, other = ClientFactory(), ClientFactory()
    for amount, currency, code in [
        ("5.00", "USD", "top_up_below_minimum"),
        ("2000.01", "USD", "top_up_above_maximum"),
        ("50.00", "JPY", "currency_not_supported"),
        ("abc", "USD", "amount_invalid"),
    ]:
        with pytest.raises(ApplicationError) as exc:
            topups.top_up_create(client=client, amount=amount, currency=currency)
        assert exc.value.code == code, (amount, currency, exc.value.code)
        assert exc.value.message
    for _ in range(2):
        top_up(client, "2000.00")
    top_up(client, "1000.00")
    with pytest.raises(ApplicationError) as exc:
        topups.top_up_create(client=client, amount="10.00", currency="USD")
    assert exc.value.code == "top_up_daily_limit"
    assert WalletTopUp.objects.filter(client=client).count() == 3

    escrow = escrow_awaiting_payment(amount="100.00", client=other)
    with pytest.raises(ApplicationError) as exc:
        services.escrow_fund_from_wallet(escrow=escrow, actor=other)
    assert exc.value.code == "wallet_insufficient_funds" and "Top up" in exc.value.message
    with pytest.raises(ApplicationError) as exc:  # someone else's escrow: it does not exist for them
        services.escrow_fund_from_wallet(escrow=escrow, actor=client)
    assert exc.value.status_code == 404
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT

    made = WalletTopUp.objects.filter(client=client).first()
    with pytest.raises(ApplicationError) as exc:  # someone else's top-up
        topups.top_up_withdraw(top_up=made, actor=other)
    assert exc.value.code == "top_up_not_found"
    with pytest.raises(ApplicationError) as exc:
        topups.top_up_withdraw(top_up=made, actor=client, amount="2000.01")
    assert exc.value.code == "withdrawal_exceeds_top_up"
    assert wallet_balance(client) == Decimal("5000.00") and wallet_balance(other) == Decimal("0.00")
    assert not WalletWithdrawal.objects.exists()


def test_a_declined_top_up_says_why_and_a_late_success_still_funds_it_once():
    client = ClientFactory()
    made = topups.top_up_create(client=client, amount="50.00", currency="USD")
    with pytest.raises(PaymentError) as exc:
        topups.top_up_payment_confirm(
            top_up=made, actor=client, payment_method="pm_card_chargeDeclined", return_url="http://t/"
        )
    assert exc.value.code == "card_declined"
    made.refresh_from_db()
    assert made.last_payment_error and made.status == WalletTopUp.Status.AWAITING_PAYMENT
    topups.top_up_payment_confirm(top_up=made, actor=client, payment_method="pm_card_visa", return_url="http://t/")
    made.refresh_from_db()
    # The success event arrives twice, late, in any order: funded once.
    for _ in range(2):
        topups.top_up_fund_from_payment(payment_reference=made.payment.reference)
    assert wallet_balance(client) == Decimal("50.00")


def test_a_second_payment_for_a_funded_top_up_goes_back_to_its_card():
    client = ClientFactory()
    made = top_up(client, "60.00")
    extra = gateway.payment_intent_create(
        amount=made.money("amount"),
        key="test:second-top-up-payment",
        transfer_group="x",
        metadata={"wallet_top_up_id": str(made.pk), "holdfast_namespace": "holdfast"},
        payment_method="pm_card_visa",
        confirm=True,
    )
    topups.top_up_fund_from_payment(payment_reference=extra.id)
    assert wallet_balance(client) == Decimal("60.00")
    assert gateway.charge_retrieve(extra.latest_charge).refunded is True


@pytest.mark.django_db(transaction=True)
def test_two_escrows_paid_from_one_wallet_at_once_for_more_than_it_holds_only_one_is_paid():
    client = ClientFactory()
    top_up(client, "150.00")
    escrows = [escrow_awaiting_payment(amount="100.00", client=client) for _ in range(2)]
    barrier, outcomes = threading.Barrier(2), []

    def pay(escrow):
        try:
            barrier.wait()
            services.escrow_fund_from_wallet(escrow=escrow, actor=client)
            outcomes.append("paid")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(e,)) for e in escrows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["paid", "wallet_insufficient_funds"]
    assert Escrow.objects.filter(pk__in=[e.pk for e in escrows], status=Escrow.Status.FUNDED).count() == 1
    assert wallet_balance(client) == Decimal("45.00")


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_racing_a_wallet_payment_never_takes_the_wallet_below_zero():
    client = ClientFactory()
    made = top_up(client, "120.00")
    escrow = escrow_awaiting_payment(amount="100.00", client=client)
    barrier, outcomes = threading.Barrier(2), {}

    def run(name, fn):
        try:
            barrier.wait()
            fn()
            outcomes[name] = "done"
        except ApplicationError as exc:
            outcomes[name] = exc.code
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=run, args=("withdraw", lambda: topups.top_up_withdraw(top_up=made, actor=client, amount="120.00"))
        ),
        threading.Thread(
            target=run, args=("pay", lambda: services.escrow_fund_from_wallet(escrow=escrow, actor=client))
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["done", "wallet_insufficient_funds"]
    assert wallet_balance(client) in (Decimal("0.00"), Decimal("15.00"))
    escrow.refresh_from_db()
    paid = escrow.status == Escrow.Status.FUNDED
    assert paid == (outcomes["pay"] == "done")
    made.refresh_from_db()
    assert made.withdrawn_amount == (Decimal("0.00") if paid else Decimal("120.00"))


def test_save_a_card_pay_with_it_in_one_click_then_remove_it():
    client, other = ClientFactory(), ClientFactory()
    assert cards.cards_for_client(user=client) == []
    setup = cards.card_setup_start(user=client)
    result = cards.card_setup_confirm(
        user=client, setup_reference=setup.reference, method="pm_card_visa", return_url="http://t/"
    )
    assert result.status == "succeeded"
    saved = cards.cards_for_client(user=client)
    assert [(c.brand, c.last4, c.is_default, c.expired) for c in saved] == [("visa", "4242", True, False)]
    card = saved[0].reference

    # Another client cannot see, use, remove or pick it: it does not exist for them.
    for attempt in (
        lambda: cards.card_remove(user=other, reference=card),
        lambda: cards.card_default_set(user=other, reference=card),
        lambda: services.escrow_payment_confirm(
            escrow=escrow_awaiting_payment(client=other), actor=other, payment_method=card, return_url="http://t/"
        ),
    ):
        with pytest.raises(ApplicationError) as exc:
            attempt()
        assert exc.value.status_code == 404 and exc.value.code == "card_not_found"

    escrow = escrow_awaiting_payment(client=client)
    attempt = services.escrow_payment_confirm(escrow=escrow, actor=client, payment_method=card, return_url="http://t/")
    assert attempt.status == "succeeded"
    escrow.refresh_from_db()
    services.escrow_fund_from_payment(payment_reference=escrow.payment.reference)
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED

    cards.card_remove(user=client, reference=card)
    assert cards.cards_for_client(user=client) == []
    with pytest.raises(ApplicationError) as exc:
        services.escrow_payment_confirm(
            escrow=escrow_awaiting_payment(client=client), actor=client, payment_method=card, return_url="http://t/"
        )
    assert exc.value.status_code in (402, 404)


def test_save_this_card_at_checkout_and_the_3ds_card_still_asks_the_bank():
    client = ClientFactory()
    escrow = escrow_awaiting_payment(client=client)
    attempt = services.escrow_payment_confirm(
        escrow=escrow,
        actor=client,
        payment_method="pm_card_authenticationRequired",
        return_url="http://t/",
        save_card=True,
    )
    assert attempt.status == "requires_action" and "/emulator/3ds/" in attempt.redirect_url
    import requests

    requests.post(attempt.redirect_url, data={"action": "complete"}, allow_redirects=False, timeout=5)
    saved = cards.cards_for_client(user=client)
    assert [c.last4 for c in saved] == ["3184"]
    # Paying again with the saved card: the bank asks for 3-D Secure again.
    again = services.escrow_payment_confirm(
        escrow=escrow_awaiting_payment(client=client),
        actor=client,
        payment_method=saved[0].reference,
        return_url="http://t/",
    )
    assert again.status == "requires_action"


def test_expired_cards_are_flagged():
    import datetime as dt

    client = ClientFactory()
    setup = cards.card_setup_start(user=client)
    cards.card_setup_confirm(
        user=client, setup_reference=setup.reference, method="pm_card_visa", return_url="http://t/"
    )
    assert cards.cards_for_client(user=client, today=dt.date(2034, 12, 31))[0].expired is False
    assert cards.cards_for_client(user=client, today=dt.date(2035, 1, 1))[0].expired is True


def test_the_ledger_check_reports_a_top_up_the_ledger_disagrees_with():
    from wallets.selectors import ledger_invariant_violations

    client = ClientFactory()
    made = top_up(client, "80.00")
    assert ledger_invariant_violations() == []
    WalletTopUp.objects.filter(pk=made.pk).update(withdrawn_amount=Decimal("5.00"))  # no ledger move behind it
    found = [v for v in ledger_invariant_violations() if v.check == "wallet_top_up_mismatch"]
    assert len(found) == 1 and f"Top-up {made.pk} " in found[0].message
    WalletTopUp.objects.filter(pk=made.pk).update(withdrawn_amount=Decimal("0.00"))


def test_a_withdrawal_the_processor_refuses_puts_the_money_back_in_the_wallet():
    client = ClientFactory()
    made = top_up(client, "70.00", card="pm_card_createDispute")  # a charged-back charge cannot be refunded
    with pytest.raises(PaymentError):
        topups.top_up_withdraw(top_up=made, actor=client)
    made.refresh_from_db()
    withdrawal = WalletWithdrawal.objects.get(top_up=made)
    assert withdrawal.status == WalletWithdrawal.Status.FAILED and withdrawal.failure_message
    assert made.withdrawn_amount == Decimal("0.00") and wallet_balance(client) == Decimal("70.00")
    kinds = [p.entry.kind for p in wallet_statement(user=client, currency="USD")]
    assert kinds == ["wallet_withdrawal", "wallet_withdrawal", "wallet_top_up"]  # out, and visibly back


def test_money_in_another_currency_does_not_pay_an_escrow():
    client = ClientFactory()
    top_up(client, "500.00", currency="EUR")
    escrow = escrow_awaiting_payment(amount="100.00", currency="USD", client=client)
    with pytest.raises(ApplicationError) as exc:
        services.escrow_fund_from_wallet(escrow=escrow, actor=client)
    assert exc.value.code == "wallet_insufficient_funds" and "USD" in exc.value.message
    assert wallet_balance(client, "EUR") == Decimal("500.00") and wallet_balance(client, "USD") == Decimal("0.00")


@pytest.mark.django_db(transaction=True)
def test_webhooks_alone_fund_a_top_up_once_even_duplicated_and_shuffled(stripe_emulator, live_server):
    from processors.stripe.setup import stripe_setup

    stripe_setup(site_url=live_server.url)
    stripe_emulator.configure_webhooks(duplicates=2, shuffle=True)
    client = ClientFactory()
    made = topups.top_up_create(client=client, amount="90.00", currency="USD")
    with pytest.raises(PaymentError):
        topups.top_up_payment_confirm(
            top_up=made, actor=client, payment_method="pm_card_chargeDeclined", return_url="http://t/"
        )
    topups.top_up_payment_confirm(top_up=made, actor=client, payment_method="pm_card_visa", return_url="http://t/")
    assert stripe_emulator.wait_for_deliveries(timeout=30)
    made.refresh_from_db()
    assert made.status == WalletTopUp.Status.SUCCEEDED and made.last_payment_error == ""
    assert wallet_balance(client) == Decimal("90.00")
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.WALLET_TOP_UP).count() == 1
    failed = ProcessorTransaction.objects.filter(kind=ProcessorTransaction.Kind.PAYMENT_FAILED)
    assert failed.count() == 1  # the decline, once, whether the call or its webhook told it first

    withdrawal = topups.top_up_withdraw(top_up=made, actor=client, amount="30.00")
    assert stripe_emulator.wait_for_deliveries(timeout=30)  # charge.refunded, twice: nothing more moves
    withdrawal.refresh_from_db()
    assert withdrawal.status == WalletWithdrawal.Status.SUCCEEDED and wallet_balance(client) == Decimal("60.00")


def test_a_refund_of_a_top_up_made_in_the_stripe_dashboard_leaves_the_wallet_once():
    client = ClientFactory()
    made = top_up(client, "100.00")
    outside = gateway.refund_create(
        payment_intent_id=made.payment.reference, amount=made.money("amount") / 4, key="test:dashboard-refund"
    )
    for _ in range(2):  # charge.refunded, twice
        topups.withdrawals_settle_for_charge(charge_reference=made.payment.charge_reference)
    made.refresh_from_db()
    assert made.withdrawn_amount == Decimal("25.00") and wallet_balance(client) == Decimal("75.00")
    assert WalletWithdrawal.objects.get(top_up=made).processor_reference == outside.id


def test_a_customer_deleted_at_the_processor_is_made_again_when_a_card_is_saved(stripe_emulator):
    import requests
    from django.conf import settings

    client = ClientFactory()
    setup = cards.card_setup_start(user=client)
    cards.card_setup_confirm(
        user=client, setup_reference=setup.reference, method="pm_card_visa", return_url="http://t/"
    )
    requests.delete(
        f"{stripe_emulator.url}/v1/customers/{setup.customer}",
        headers={"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"},
        timeout=5,
    )
    assert cards.cards_for_client(user=client) == []  # its cards went with it
    again = cards.card_setup_start(user=client)
    assert again.customer != setup.customer
    cards.card_setup_confirm(
        user=client, setup_reference=again.reference, method="pm_card_mastercard", return_url="http://t/"
    )
    assert [c.last4 for c in cards.cards_for_client(user=client)] == ["4444"]

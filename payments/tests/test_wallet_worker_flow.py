"""The whole path with every part real: the emulator delivers signed webhooks to the running app,
which queues them in Redis for a Celery worker in its own process; nothing is called by hand.

Save a card, pay an escrow with it in one click, remove it; top up the wallet by card, pay an
escrow from the wallet, get a refund back into it, withdraw the rest to the card that paid."""

import time
from decimal import Decimal

import pytest

from accounts.tests.factories import ClientFactory
from disputes.models import Dispute
from disputes.services import dispute_settlement_accept
from payments import cards, topups
from payments import escrow as services
from payments.models import Escrow, WalletTopUp, WalletWithdrawal
from payments.tests.factories import escrow_awaiting_payment
from processors.interface import PaymentError
from processors.stripe import gateway
from processors.stripe.setup import stripe_setup
from wallets.models import LedgerAccount

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_holds")]


def wait_for(check, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"the worker did not get there: {what}"
        time.sleep(0.2)


def balance(user) -> Decimal:
    account = LedgerAccount.objects.filter(kind="user_wallet", user=user, currency="USD").first()
    return account.balance if account else Decimal("0.00")


def status_of(escrow) -> str:
    return Escrow.objects.values_list("status", flat=True).get(pk=escrow.pk)


def test_saved_card_and_wallet_paths_with_a_real_worker(celery_worker_process, live_server, stripe_emulator):
    stripe_setup(site_url=live_server.url)
    client = ClientFactory()

    # Save a card, pay with it in one click: the worker funds the escrow from the webhook.
    setup = cards.card_setup_start(user=client)
    cards.card_setup_confirm(
        user=client, setup_reference=setup.reference, method="pm_card_visa", return_url="http://t/"
    )
    card = cards.cards_for_client(user=client)[0].reference
    first = escrow_awaiting_payment(amount="50.00", client=client)
    attempt = services.escrow_payment_confirm(escrow=first, actor=client, payment_method=card, return_url="http://t/")
    assert attempt.status == "succeeded"
    wait_for(lambda: status_of(first) == Escrow.Status.FUNDED, "escrow paid with the saved card funded")
    cards.card_remove(user=client, reference=card)
    with pytest.raises(PaymentError):  # a removed card can no longer pay
        services.escrow_payment_confirm(
            escrow=escrow_awaiting_payment(client=client), actor=client, payment_method=card, return_url="http://t/"
        )

    # Top up by card: only the processor's success event, through the worker, credits the wallet.
    top_up = topups.top_up_create(client=client, amount="300.00", currency="USD")
    topups.top_up_payment_confirm(top_up=top_up, actor=client, payment_method="pm_card_visa", return_url="http://t/")
    wait_for(lambda: balance(client) == Decimal("300.00"), "wallet credited by the top-up")
    assert WalletTopUp.objects.get(pk=top_up.pk).status == WalletTopUp.Status.SUCCEEDED

    # Pay an escrow from the wallet (at once), then a refund goes back into the wallet.
    second = escrow_awaiting_payment(amount="200.00", client=client)  # 210.00 with the service fee
    services.escrow_fund_from_wallet(escrow=second, actor=client)
    assert status_of(second) == Escrow.Status.FUNDED and balance(client) == Decimal("90.00")
    services.escrow_cancel(escrow=second, actor=client, reason="Not needed after all")
    # The work has started: the cancel asks the tasker, who agrees to the full refund.
    dispute_settlement_accept(dispute=Dispute.objects.get(escrow=second), actor=second.tasker)
    assert status_of(second) == Escrow.Status.REFUNDED and balance(client) == Decimal("300.00")

    # Withdraw the rest to the card that paid the top-up; the refund's webhook is processed too.
    withdrawal = topups.top_up_withdraw(top_up=top_up, actor=client)
    assert withdrawal.status == WalletWithdrawal.Status.SUCCEEDED and balance(client) == Decimal("0.00")
    top_up.refresh_from_db()
    assert gateway.charge_retrieve(top_up.payment.charge_reference).refunded is True

    assert stripe_emulator.wait_for_deliveries(timeout=30)
    time.sleep(1)  # the last webhook tasks finish in the worker
    log = celery_worker_process.read_text()
    assert "succeeded in" in log and "Traceback" not in log, log[-3000:]
    assert balance(client) == Decimal("0.00")
    assert status_of(first) == Escrow.Status.FUNDED

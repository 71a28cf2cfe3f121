"""Disputes under races and real webhooks: committed transactions on the real PostgreSQL, threads
behind a barrier, and the emulator delivering Stripe's chargeback events over HTTP to the app."""

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import ApplicationError
from disputes import services
from disputes.models import Chargeback, Dispute
from disputes.tests.factories import dispute_opened, support
from payments.escrow import escrow_refund, escrows_release_due
from payments.models import Escrow
from payments.tests.factories import escrow_awaiting_payment, escrow_delivered
from processors.stripe import gateway
from processors.stripe.setup import stripe_setup
from wallets.models import JournalEntry
from wallets.selectors import ledger_invariant_violations
from wallets.services import wallet_account_get_or_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_threads_ruling_auto_release_second_ruling_and_refund_end_in_exactly_one_outcome(stripe_emulator):
    escrow = escrow_delivered(amount="100.00")  # 105.00 held
    dispute = dispute_opened(escrow)
    Escrow.objects.filter(pk=escrow.pk).update(release_due_at=timezone.now() - timedelta(days=1))
    agents = [support() for _ in range(3)]
    barrier = threading.Barrier(20)
    results: list[str] = []
    lock = threading.Lock()

    def rule(outcome, agent, amount=None):
        return lambda: services.dispute_rule(
            dispute=dispute, actor=agent, outcome=outcome, reason=f"{outcome} by {agent.pk}", client_refund=amount
        )

    calls = (
        [rule("release", agents[0])] * 5
        + [rule("refund", agents[1])] * 5
        + [rule("split", agents[2], "52.50")] * 4
        + [lambda: escrows_release_due()] * 3
        + [lambda: escrow_refund(escrow=escrow, amount=None, actor=None, reason="Finance refund")] * 3
    )

    def run(call):
        try:
            barrier.wait()
            call()
            outcome = "ok"
        except ApplicationError as exc:
            outcome = exc.code
        except Exception as exc:  # noqa: BLE001  (a deadlock or a crash: named in the failure below)
            outcome = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    escrow.refresh_from_db()
    dispute.refresh_from_db()
    codes = Counter(results)
    assert sum(codes.values()) == 20, codes
    assert not [code for code in codes if code.startswith("unexpected")], codes
    assert dispute.status == Dispute.Status.RESOLVED, codes
    expected = {"release": Escrow.Status.RELEASED, "refund": Escrow.Status.REFUNDED, "split": Escrow.Status.SPLIT}
    assert escrow.status == expected[dispute.outcome]
    refunded = gateway.charge_retrieve(escrow.payment.charge_reference).amount_refunded
    wallet = wallet_account_get_or_create(user=escrow.tasker, currency="USD").balance
    assert (refunded, wallet) == {
        "release": (0, Decimal("80.00")),
        "refund": (10500, Decimal("0.00")),
        "split": (5250, Decimal("40.00")),
    }[dispute.outcome]
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_RELEASE).count() == (dispute.outcome != "refund")
    # Finance's refunds were refused (held for the dispute, then ruled): every refund made is the ruling's.
    assert not escrow.refunds.filter(for_ruling=False).exists()
    assert ledger_invariant_violations() == []


def test_chargeback_webhooks_duplicated_and_shuffled_book_the_chargeback_once(stripe_emulator, live_server):
    stripe_setup(site_url=live_server.url)
    stripe_emulator.configure_webhooks(duplicates=2, shuffle=True)
    escrow = escrow_awaiting_payment(amount="100.00")
    from payments.escrow import escrow_payment_confirm

    escrow_payment_confirm(
        escrow=escrow, actor=escrow.client, payment_method="pm_card_createDispute", return_url="http://t/"
    )
    assert stripe_emulator.wait_for_deliveries(timeout=60)

    escrow.refresh_from_db()
    cb = Chargeback.objects.get()
    assert escrow.status == Escrow.Status.DISPUTED and cb.escrow == escrow and cb.funds_withdrawn_at
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.CHARGEBACK).count() == 1
    assert ledger_invariant_violations() == []

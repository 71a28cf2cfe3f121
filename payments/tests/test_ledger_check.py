"""The escrow check payments adds to the ledger check: each escrow's ledger account holds what its row says."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from marketplace import services as market
from payments import escrow as services
from payments.models import Escrow
from payments.selectors import ESCROW_LEDGER_CHECK
from payments.tests.factories import escrow_awaiting_payment, escrow_delivered, escrow_funded
from wallets.selectors import Violation, ledger_invariant_violations

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def test_consistent_escrows_in_every_state_report_nothing():
    escrow_awaiting_payment()
    escrow_funded()
    released = escrow_delivered()
    market.task_complete(task=released.task, actor=released.client)
    part_refunded = escrow_funded()
    services.escrow_refund(escrow=part_refunded, amount=Decimal("30.00"), actor=None, reason="Half the job")
    refunded = escrow_funded()
    services.escrow_refund(escrow=refunded, amount=None, actor=None, reason="No-show")

    statuses = set(Escrow.objects.values_list("status", flat=True))
    assert statuses == {"awaiting_payment", "funded", "released", "refunded"}
    assert ledger_invariant_violations() == []


def test_a_cancelled_escrow_paid_late_and_refunded_reports_nothing():
    escrow = escrow_awaiting_payment(amount="100.00")
    services.escrow_payment_confirm(
        escrow=escrow, actor=escrow.client, payment_method="pm_card_visa", return_url="http://testserver/"
    )
    # Cancelled (expired) while the payment was going through; its webhook arrives afterwards.
    Escrow.objects.filter(pk=escrow.pk).update(status=Escrow.Status.CANCELLED)
    escrow.refresh_from_db()
    services.escrow_fund_from_payment(payment_reference=escrow.payment.reference)

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.CANCELLED and escrow.funded_at is not None
    assert escrow.refunded_amount == escrow.client_total == Decimal("105.00")
    assert ledger_invariant_violations() == []

    Escrow.objects.filter(pk=escrow.pk).update(refunded_amount=Decimal("0.00"))
    (violation,) = ledger_invariant_violations()
    assert violation == Violation(
        ESCROW_LEDGER_CHECK,
        f"Escrow {escrow.pk} is cancelled and should hold 105.00 USD in its ledger account, "
        "but the account holds 0.00.",
    )


def test_a_funded_escrow_whose_row_disagrees_with_its_account_is_reported():
    escrow = escrow_funded(amount="100.00")  # client_total 105.00, all of it in the escrow account
    Escrow.objects.filter(pk=escrow.pk).update(refunded_amount=Decimal("30.00"))

    assert ledger_invariant_violations() == [
        Violation(
            ESCROW_LEDGER_CHECK,
            f"Escrow {escrow.pk} is funded and should hold 75.00 USD in its ledger account, "
            "but the account holds 105.00.",
        )
    ]


def test_a_released_escrow_whose_account_still_holds_money_is_reported():
    escrow = escrow_funded(amount="100.00")
    Escrow.objects.filter(pk=escrow.pk).update(status=Escrow.Status.RELEASED)

    (violation,) = ledger_invariant_violations()
    assert violation.check == ESCROW_LEDGER_CHECK
    assert violation.message == (
        f"Escrow {escrow.pk} is released and should hold 0.00 USD in its ledger account, but the account holds 105.00."
    )


def test_a_funded_escrow_without_a_ledger_account_is_reported():
    escrow = escrow_awaiting_payment(amount="100.00")  # no money yet, so no account either
    Escrow.objects.filter(pk=escrow.pk).update(status=Escrow.Status.FUNDED, funded_at=escrow.created_at)

    (violation,) = ledger_invariant_violations()
    assert violation.check == ESCROW_LEDGER_CHECK
    assert f"Escrow {escrow.pk} is funded and should hold 105.00 USD" in violation.message
    assert violation.message.endswith("but the account holds 0.00.")


def test_the_command_reports_the_escrow_check():
    escrow = escrow_funded(amount="100.00")
    Escrow.objects.filter(pk=escrow.pk).update(refunded_amount=Decimal("5.00"))

    report = io.StringIO()
    with pytest.raises(CommandError):
        call_command("ledger_check", stderr=report)
    assert f"[{ESCROW_LEDGER_CHECK}] Escrow {escrow.pk} is funded and should hold 100.00 USD" in report.getvalue()

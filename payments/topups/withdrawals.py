"""Withdrawing unused top-up money to the card that paid it: reserve, refund, settle, take in
refunds made outside Holdfast."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from accounts.models import User
from core import events
from core.errors import ApplicationError, ValidationError
from core.money import format_money, parse_amount
from payments.events import WalletWithdrawn
from payments.models import WalletTopUp, WalletWithdrawal
from payments.topups.base import METADATA_KEY, TopUpError, Tx, top_up_lock, top_up_processor, top_up_require_owner
from processors import registry
from processors.interface import PaymentError, PaymentProviderUnavailable, Refund, RefundStatus
from processors.keys import idempotency_key
from processors.services import transaction_record
from wallets.errors import InsufficientFunds
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import ledger_post, platform_account, wallet_account_get_or_create

logger = logging.getLogger(__name__)


def top_up_withdraw(*, top_up: WalletTopUp, actor: User, amount: object = None) -> WalletWithdrawal:
    """Send unused money of this top-up back to the card that paid it (``amount=None``: as much as
    can go: what is left of the top-up, at most what the wallet holds).

    Refused, moving nothing: another client's top-up (``top_up_not_found``), one not paid
    (``top_up_not_funded``), more than is left of it (``withdrawal_exceeds_top_up``) or than the
    wallet holds (``wallet_insufficient_funds``). Its id keys the processor's refund, so a retry
    refunds once.
    """
    withdrawal = top_up_withdrawal_reserve(top_up=top_up, actor=actor, amount=amount)
    return top_up_withdrawal_execute(withdrawal)


@transaction.atomic
def top_up_withdrawal_reserve(*, top_up: WalletTopUp, actor: User, amount: object = None) -> WalletWithdrawal:
    top_up_require_owner(top_up, actor)
    top_up = top_up_lock(top_up.pk)
    if top_up.status != WalletTopUp.Status.SUCCEEDED:
        raise TopUpError("Only a top-up that reached your wallet can be withdrawn.", code="top_up_not_funded")
    wallet = wallet_account_get_or_create(user=top_up.client, currency=top_up.currency)
    left = top_up.amount - top_up.withdrawn_amount
    if amount is None or amount == "":
        balance = LedgerAccount.objects.values_list("balance", flat=True).get(pk=wallet.pk)
        amount = min(left, balance)
    else:
        amount = parse_amount(amount, top_up.currency)
    if amount <= 0:
        raise ValidationError(
            "There is nothing of this top-up left in your wallet to withdraw.", code="nothing_to_withdraw"
        )
    if amount > left:
        raise ValidationError(
            f"At most {format_money(left, top_up.currency)} of this top-up can go back to its card.",
            code="withdrawal_exceeds_top_up",
            details={"left": str(left)},
        )
    withdrawal = WalletWithdrawal.objects.create(top_up=top_up, amount=amount, actor=actor)
    try:
        ledger_post(
            idempotency_key=f"wallet-withdrawal:{withdrawal.pk}",
            kind=JournalEntry.Kind.WALLET_WITHDRAWAL,
            reference=top_up,
            lines=[
                (wallet, -amount),
                (platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=top_up.currency), amount),
            ],
            actor=actor,
            memo=f"Back to the card of top-up #{top_up.pk}",
        )
    except InsufficientFunds as exc:
        available = exc.details.get("available", "0")
        raise TopUpError(
            f"Your {top_up.currency} wallet holds {format_money(available, top_up.currency)}: "
            f"{format_money(amount, top_up.currency)} cannot be withdrawn.",
            code="wallet_insufficient_funds",
            details={"available": str(available), "required": str(amount)},
        ) from exc
    WalletTopUp.objects.filter(pk=top_up.pk).update(withdrawn_amount=top_up.withdrawn_amount + amount)
    return withdrawal


def top_up_withdrawal_execute(withdrawal: WalletWithdrawal) -> WalletWithdrawal:
    """Ask the processor to refund the reserved amount to the top-up's card (same key every try)."""
    top_up = WalletTopUp.objects.select_related("payment").get(pk=withdrawal.top_up_id)
    processor = top_up_processor(top_up)
    try:
        answer = processor.refund_create(
            payment_reference=top_up.payment.reference,
            amount=Money(withdrawal.amount, top_up.currency),
            key=idempotency_key("wallet-withdrawal", withdrawal.pk),
            metadata={"wallet_withdrawal_id": str(withdrawal.pk), METADATA_KEY: str(top_up.pk)},
        )
    except PaymentProviderUnavailable:
        logger.warning("Withdrawal %s: no answer from the processor; settled later", withdrawal.pk)
        raise PaymentProviderUnavailable(
            "The payment service did not answer. The withdrawal is recorded and will be completed automatically.",
            code="withdrawal_pending",
        )
    except PaymentError as exc:
        withdrawal_fail(withdrawal=withdrawal, message=exc.message)
        raise
    return _withdrawal_settle(withdrawal=withdrawal, answer=answer)


def _withdrawal_settle(*, withdrawal: WalletWithdrawal, answer: Refund, event_id: str = "") -> WalletWithdrawal:
    top_up = WalletTopUp.objects.get(pk=withdrawal.top_up_id)
    transaction_record(
        subject=top_up,
        processor=answer.processor,
        kind=Tx.WITHDRAWAL,
        reference=answer.reference,
        idempotency_key=f"{answer.processor}:withdrawal:{answer.reference}:{answer.status}",
        charge_reference=answer.charge_reference,
        status=answer.status,
        amount=answer.amount.amount,
        currency=str(answer.amount.currency),
        failure_message=answer.failure_reason,
        event_id=event_id,
    )
    if answer.status == RefundStatus.SUCCEEDED:
        with transaction.atomic():
            locked = WalletWithdrawal.objects.select_for_update().get(pk=withdrawal.pk)
            if locked.status == WalletWithdrawal.Status.PENDING:
                now = timezone.now()
                WalletWithdrawal.objects.filter(pk=locked.pk).update(
                    status=WalletWithdrawal.Status.SUCCEEDED, processor_reference=answer.reference, completed_at=now
                )
                events.publish(
                    WalletWithdrawn(
                        withdrawal_id=locked.pk,
                        top_up_id=top_up.pk,
                        user_id=top_up.client_id,
                        amount=locked.amount,
                        currency=top_up.currency,
                    )
                )
    elif answer.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
        at = registry.processor(answer.processor).display_name
        withdrawal_fail(
            withdrawal=withdrawal,
            message=f"{at} reports it {answer.status} ({answer.failure_reason or answer.status}).",
        )
    else:
        WalletWithdrawal.objects.filter(pk=withdrawal.pk, status=WalletWithdrawal.Status.PENDING).update(
            processor_reference=answer.reference
        )
    withdrawal.refresh_from_db()
    return withdrawal


@transaction.atomic
def withdrawal_fail(*, withdrawal: WalletWithdrawal, message: str) -> None:
    """The card refund was refused or failed: the money goes back into the wallet, visibly."""
    top_up = top_up_lock(withdrawal.top_up_id)
    withdrawal = WalletWithdrawal.objects.select_for_update().get(pk=withdrawal.pk)
    if withdrawal.status != WalletWithdrawal.Status.PENDING:
        return
    ledger_post(
        idempotency_key=f"wallet-withdrawal:{withdrawal.pk}:reversal",
        kind=JournalEntry.Kind.WALLET_WITHDRAWAL,
        reference=top_up,
        lines=[
            (platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=top_up.currency), -withdrawal.amount),
            (wallet_account_get_or_create(user=top_up.client, currency=top_up.currency), withdrawal.amount),
        ],
        actor=None,
        memo=f"Withdrawal failed, back in the wallet: {message}",
    )
    WalletTopUp.objects.filter(pk=top_up.pk).update(withdrawn_amount=top_up.withdrawn_amount - withdrawal.amount)
    WalletWithdrawal.objects.filter(pk=withdrawal.pk).update(
        status=WalletWithdrawal.Status.FAILED, failure_message=message[:500], completed_at=timezone.now()
    )


def withdrawals_settle_for_charge(*, charge_reference: str, processor: str | None = None, event_id: str = "") -> int:
    """Settle our pending withdrawals of a top-up's charge from its refunds, read back. Returns how many."""
    top_up = WalletTopUp.objects.filter(payment__charge_reference=charge_reference).first()
    if top_up is None:
        return 0
    settled = 0
    for answer in registry.processor(processor).refunds_for_charge(charge_reference):
        withdrawal_id = answer.metadata.get("wallet_withdrawal_id")
        if not (withdrawal_id and str(withdrawal_id).isdigit()):
            settled += _withdrawal_adopt(top_up=top_up, answer=answer)
            continue
        withdrawal = WalletWithdrawal.objects.filter(pk=withdrawal_id, top_up=top_up).first()
        if withdrawal is not None and withdrawal.status == WalletWithdrawal.Status.PENDING:
            settled += _withdrawal_settle(withdrawal=withdrawal, answer=answer, event_id=event_id).status != (
                WalletWithdrawal.Status.PENDING
            )
    return settled


def _withdrawal_adopt(*, top_up: WalletTopUp, answer: Refund) -> bool:
    """A refund of a top-up made outside Holdfast (the Stripe Dashboard): that money is no longer
    the client's to spend, so it leaves the wallet as a withdrawal, once (keyed by the refund).
    If the wallet no longer holds it, a person must sort it out: logged as an error, nothing moved."""
    if answer.status != RefundStatus.SUCCEEDED or answer.metadata.get("returned_payment_intent"):
        return False
    if WalletWithdrawal.objects.filter(processor_reference=answer.reference).exists():
        return False
    at = registry.processor(answer.processor).display_name
    try:
        with transaction.atomic():
            top_up = top_up_lock(top_up.pk)
            if WalletWithdrawal.objects.filter(processor_reference=answer.reference).exists():
                return False
            amount = answer.amount.amount
            if amount > top_up.amount - top_up.withdrawn_amount:
                raise TopUpError(f"More than is left of top-up {top_up.pk}", code="withdrawal_exceeds_top_up")
            withdrawal = WalletWithdrawal.objects.create(
                top_up=top_up,
                amount=amount,
                processor_reference=answer.reference,
                status=WalletWithdrawal.Status.SUCCEEDED,
                completed_at=timezone.now(),
            )
            ledger_post(
                idempotency_key=f"wallet-withdrawal:{withdrawal.pk}",
                kind=JournalEntry.Kind.WALLET_WITHDRAWAL,
                reference=top_up,
                lines=[
                    (wallet_account_get_or_create(user=top_up.client, currency=top_up.currency), -amount),
                    (platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=top_up.currency), amount),
                ],
                actor=None,
                memo=f"Refunded at {at} ({answer.reference})",
            )
            WalletTopUp.objects.filter(pk=top_up.pk).update(withdrawn_amount=top_up.withdrawn_amount + amount)
    except ApplicationError as exc:
        logger.error(
            "Refund %s of top-up %s made outside Holdfast not taken from the wallet: %s",
            answer.reference,
            top_up.pk,
            exc,
        )
        return False
    return True


def withdrawals_settle(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Settle withdrawals still pending a while after they were asked for: the refunds of their
    charges are read back, and one the processor never received is asked again with the same key.
    Run by beat."""
    settled = 0
    pending = WalletWithdrawal.objects.filter(
        status=WalletWithdrawal.Status.PENDING, created_at__lte=timezone.now() - older_than
    ).select_related("top_up__payment")
    for withdrawal in pending:
        try:
            if withdrawal.processor_reference:
                payment = withdrawal.top_up.payment
                settled += withdrawals_settle_for_charge(
                    charge_reference=payment.charge_reference, processor=payment.processor
                )
            else:
                settled += top_up_withdrawal_execute(withdrawal).status != WalletWithdrawal.Status.PENDING
        except ApplicationError as exc:
            logger.warning("Withdrawal %s not settled yet: %s", withdrawal.pk, exc)
    return settled

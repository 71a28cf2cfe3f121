"""Moving a payout's money through the processor: transfer, bank payout, and the bank's answer.

``payout_execute`` runs in Celery (acks late, retried): a transfer from the platform to the
tasker's connected account, then a payout from that account to the bank. Each call carries an
idempotency key from the payout's id and attempt, so a job run twice (a worker lost, a retry after
a timeout) acts once at the processor; each result is recorded once in the processor record and on
the payout under its row lock. No row is locked while the processor is called.

When the platform's available balance cannot cover the transfer yet (card funds settle days after
the charge) the payout *waits*, visibly (``waiting`` and a timeline entry), and beat executes it
again later; it never fails for that. The bank's answer comes as ``payout.paid`` /
``payout.failed`` (Connect events, re-read from the processor, never trusted as sent) or from the
hourly refresh; a stale or duplicate answer never moves a payout back. A failed bank payout
reverses the transfer and returns the money to the wallet, with the bank's reason.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from moneyed import Money

from core.events import publish
from core.money import format_money
from payouts.events import PayoutFailed, PayoutInTransit, PayoutPaid, PayoutWaiting
from payouts.models import Payout, PayoutAccount, PayoutEvent
from payouts.services.ledger import post_paid, post_returned
from payouts.services.lifecycle import (
    K,
    S,
    _transition,
    event_fields,
    payout_lock,
    payout_note,
)
from processors.interface import (
    BankPayout,
    BankPayoutStatus,
    EventKind,
    PaymentError,
    PaymentProviderUnavailable,
    ProcessorEvent,
)
from processors.keys import idempotency_key
from processors.models import ProcessorTransaction
from processors.registry import event_handler, payout_processor
from processors.services import transaction_record

logger = logging.getLogger(__name__)

# The bank's failure codes that mean the tasker must fix their bank details.
BANK_DETAIL_FAILURES = {
    "account_closed",
    "account_frozen",
    "bank_account_restricted",
    "bank_ownership_changed",
    "could_not_process",
    "debit_not_authorized",
    "incorrect_account_holder_name",
    "invalid_account_number",
    "invalid_currency",
    "no_account",
}


def _key(payout: Payout, what: str) -> str:
    return idempotency_key("payout", payout.pk, payout.attempt, what)


def _record_key(payout: Payout, what: str) -> str:
    return f"payout:{payout.pk}:{payout.attempt}:{what}"


def payout_execute(*, payout_id: int) -> Payout:
    """Carry a payout in ``processing`` as far as it can go now. Safe to run any number of times,
    concurrently too: the processor calls are keyed by payout and attempt, the results recorded once.

    Raises ``PaymentProviderUnavailable`` when the processor cannot be reached (the Celery task
    retries; beat also picks the payout up again).
    """
    payout = Payout.objects.select_related("account").get(pk=payout_id)
    if payout.status != S.PROCESSING:
        return payout
    processor = payout_processor(payout.account.processor)
    attempt = payout.attempt
    if payout.transfer_id is None:
        tries = payout.transfer_tries
        if not _transfer_sending(payout_id=payout.pk, attempt=attempt):
            return Payout.objects.get(pk=payout.pk)
        try:
            transfer = processor.transfer_create(
                amount=Money(payout.net, payout.currency),
                destination=payout.account.reference,
                key=_key(payout, f"transfer-{tries}"),
                group=f"payout-{payout.pk}",
                metadata={"payout_id": str(payout.pk), "attempt": str(attempt), "tasker_id": str(payout.tasker_id)},
            )
        except PaymentProviderUnavailable as exc:
            _wait_unavailable(payout, attempt, exc)
            raise
        except PaymentError as exc:
            if exc.code == "platform_balance_insufficient":
                return payout_wait(
                    payout_id=payout.pk, attempt=attempt, waiting=Payout.Waiting.PLATFORM_FUNDS, reason=exc.message
                )
            return payout_fail(payout_id=payout.pk, attempt=attempt, code=exc.code, message=exc.message)
        payout = _transfer_recorded(payout_id=payout.pk, attempt=attempt, tries=tries, reference=transfer.reference)
        if payout.status != S.PROCESSING or payout.attempt != attempt:
            return payout
    try:
        bank_payout = processor.bank_payout_create(
            account_reference=payout.account.reference,
            amount=Money(payout.net, payout.currency),
            key=_key(payout, "bank-payout"),
            metadata={"payout_id": str(payout.pk), "attempt": str(attempt)},
        )
    except PaymentProviderUnavailable as exc:
        _wait_unavailable(payout, attempt, exc)
        raise
    except PaymentError as exc:
        return payout_fail(payout_id=payout.pk, attempt=attempt, code=exc.code, message=exc.message)
    payout = _bank_payout_recorded(payout_id=payout.pk, attempt=attempt, bank_payout=bank_payout)
    if bank_payout.status in (BankPayoutStatus.PAID, BankPayoutStatus.FAILED, BankPayoutStatus.CANCELED):
        payout = payout_bank_payout_settle(reference=bank_payout.reference)
    return payout


@transaction.atomic
def _transfer_sending(*, payout_id: int, attempt: int) -> bool:
    """Mark the transfer request as sent before sending it, so that a worker killed while Stripe
    is making it leaves a payout that cannot be cancelled until it is known (``transfer_unconfirmed``).
    False when the payout was stopped, retried or transferred meanwhile: nothing is sent."""
    payout = payout_lock(payout_id)
    if payout.status != S.PROCESSING or payout.attempt != attempt or payout.transfer_id is not None:
        return False
    payout.transfer_sent_at = timezone.now()
    payout.save(update_fields=["transfer_sent_at", "updated_at"])
    return True


def _wait_unavailable(payout: Payout, attempt: int, exc: PaymentError) -> None:
    payout_wait(payout_id=payout.pk, attempt=attempt, waiting=Payout.Waiting.PROCESSOR_UNAVAILABLE, reason=exc.message)


@transaction.atomic
def payout_wait(*, payout_id: int, attempt: int, waiting: str, reason: str) -> Payout:
    """The payout cannot go on now; beat executes it again after ``PAYOUT_FUNDS_RETRY_SECONDS``.
    The first wait of a kind goes on the timeline (and is published), later ones only move the time."""
    payout = payout_lock(payout_id)
    if payout.status != S.PROCESSING or payout.attempt != attempt:
        return payout
    delay = settings.PAYOUT_FUNDS_RETRY_SECONDS if waiting == Payout.Waiting.PLATFORM_FUNDS else 60
    first = payout.waiting != waiting
    payout.waiting = waiting
    payout.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    if waiting == Payout.Waiting.PLATFORM_FUNDS and payout.transfer_id is None:
        payout.transfer_tries += 1  # the refused key's answer is final; the next try needs its own
        payout.transfer_sent_at = None  # a refusal: no transfer was made
    payout.save(update_fields=["waiting", "next_attempt_at", "transfer_tries", "transfer_sent_at", "updated_at"])
    if first:
        payout_note(payout, kind=K.WAITING, reason=Payout.Waiting(waiting).label)
        publish(PayoutWaiting(**event_fields(payout), reason=Payout.Waiting(waiting).label))
    return payout


@transaction.atomic
def _transfer_recorded(*, payout_id: int, attempt: int, tries: int, reference: str) -> Payout:
    payout = payout_lock(payout_id)
    row, _ = transaction_record(
        subject=payout,
        processor=payout.account.processor,
        kind=ProcessorTransaction.Kind.TRANSFER,
        reference=reference,
        idempotency_key=f"payout:{payout.pk}:{attempt}:transfer-{tries}",
        status="created",
        amount=payout.net,
        currency=payout.currency,
    )
    if payout.transfer_id == row.pk:
        return payout  # this very transfer, recorded already by a concurrent run (same key, one transfer)
    if payout.attempt != attempt or payout.status != S.PROCESSING:
        # Held or cancelled while the transfer was being made: the transfer is undone so the money
        # matches the payout (cancel returned it to the wallet already), and a payout released
        # from its hold later makes a new transfer under a new key (the old key would replay this one).
        if payout.attempt == attempt and payout.transfer_id is None:
            payout.transfer_tries += 1
            payout.save(update_fields=["transfer_tries", "updated_at"])
        transaction.on_commit(lambda: _reverse_stray_transfer(payout_id, attempt, tries, reference))
        return payout
    if payout.transfer_id is None:
        payout.transfer = row
        payout.transfer_sent_at = None
        payout.waiting = ""
        payout.next_attempt_at = None
        payout.save(update_fields=["transfer", "transfer_sent_at", "waiting", "next_attempt_at", "updated_at"])
        payout_note(payout, kind=K.TRANSFERRED, reason=f"{format_money(payout.net, payout.currency)} ({reference})")
    return payout


def _reverse_stray_transfer(payout_id: int, attempt: int, tries: int, reference: str) -> None:
    payout = Payout.objects.select_related("account").get(pk=payout_id)
    processor = payout_processor(payout.account.processor)
    key = idempotency_key("payout", payout_id, attempt, f"stray-reversal-{tries}")
    try:
        reversal = processor.transfer_reverse(reference=reference, amount=Money(payout.net, payout.currency), key=key)
    except PaymentError as exc:
        logger.error("Payout %s: could not reverse transfer %s: %s", payout_id, reference, exc)
        with transaction.atomic():
            payout_note(
                payout_lock(payout_id),
                kind=K.NEEDS_ATTENTION,
                reason=f"Transfer {reference} was made after the payout stopped and could not be reversed: {exc}",
            )
        return
    with transaction.atomic():
        payout = payout_lock(payout_id)
        transaction_record(
            subject=payout,
            processor=processor.name,
            kind=ProcessorTransaction.Kind.TRANSFER_REVERSAL,
            reference=reversal.reference,
            idempotency_key=f"payout:{payout_id}:{attempt}:stray-reversal-{tries}",
            amount=payout.net,
            currency=payout.currency,
        )


@transaction.atomic
def _bank_payout_recorded(*, payout_id: int, attempt: int, bank_payout: BankPayout) -> Payout:
    payout = payout_lock(payout_id)
    row, _ = transaction_record(
        subject=payout,
        processor=payout.account.processor,
        kind=ProcessorTransaction.Kind.BANK_PAYOUT,
        reference=bank_payout.reference,
        idempotency_key=f"payout:{payout.pk}:{attempt}:bank-payout",
        status=bank_payout.status,
        amount=payout.net,
        currency=payout.currency,
    )
    if payout.attempt != attempt or payout.status != S.PROCESSING:
        return payout
    arrival = (
        datetime.fromtimestamp(bank_payout.arrival_date, tz=UTC)
        if bank_payout.arrival_date
        else payout.arrival_estimate
    )
    account = payout.account
    bank = f"{account.bank_name} ····{account.bank_last4}" if account.bank_last4 else "the bank"
    return _transition(
        payout,
        to=S.IN_TRANSIT,
        kind=K.IN_TRANSIT,
        actor=None,
        reason=f"Payout {bank_payout.reference} to {bank}",
        fields={
            "bank_payout": row,
            "in_transit_at": timezone.now(),
            "arrival_estimate": arrival,
            "waiting": "",
            "next_attempt_at": None,
        },
        event=PayoutInTransit(**event_fields(payout), arrival_estimate=arrival.isoformat() if arrival else ""),
    )


def payout_fail(*, payout_id: int, attempt: int, code: str, message: str, event_id: str = "") -> Payout:
    """This attempt failed: undo the transfer if one was made, return the money to the wallet with
    the reason on the statement, tell the tasker. Idempotent (keys per attempt)."""
    payout = Payout.objects.select_related("account").get(pk=payout_id)
    if payout.attempt != attempt or payout.status in (S.FAILED, S.PAID, S.CANCELLED):
        return payout
    processor = payout_processor(payout.account.processor)
    reversal = None
    if payout.transfer_id is not None:
        # The processor puts a failed bank payout's money back on the connected account; the
        # reversal brings it to the platform, where the wallet's money lives.
        try:
            reversal = processor.transfer_reverse(
                reference=payout.transfer.reference,
                amount=Money(payout.net, payout.currency),
                key=_key(payout, "reversal"),
            )
        except PaymentProviderUnavailable:
            raise  # asked again by the task's retry, the refresh, or the next event
        except PaymentError as exc:
            # The money is not back at the platform: returning it to the wallet now would create
            # money. A person looks (the console's "failed" filter shows it, reconciliation too).
            with transaction.atomic():
                payout_note(
                    payout_lock(payout_id),
                    kind=K.NEEDS_ATTENTION,
                    reason=f"The bank payout failed ({message}) but the transfer could not be reversed: {exc.message}",
                )
            logger.error("Payout %s: transfer reversal refused: %s", payout_id, exc)
            return payout
    with transaction.atomic():
        payout = payout_lock(payout_id)
        if payout.attempt != attempt or payout.status in (S.FAILED, S.PAID, S.CANCELLED):
            return payout
        if reversal is not None:
            transaction_record(
                subject=payout,
                processor=processor.name,
                kind=ProcessorTransaction.Kind.TRANSFER_REVERSAL,
                reference=reversal.reference,
                idempotency_key=_record_key(payout, "reversal"),
                amount=payout.net,
                currency=payout.currency,
                event_id=event_id,
            )
        reason = message or "The payout failed."
        bank_problem = code in BANK_DETAIL_FAILURES
        post_returned(payout, actor=None, memo=f"Payout #{payout.pk} failed: {reason}")
        PayoutEvent.objects.create(
            payout=payout,
            kind=K.MONEY_RETURNED,
            from_status=payout.status,
            to_status=payout.status,
            reason=f"{format_money(payout.amount, payout.currency)} back in the wallet",
        )
        if bank_problem:
            PayoutAccount.objects.filter(pk=payout.account_id).update(bank_problem=reason[:500])
        return _transition(
            payout,
            to=S.FAILED,
            kind=K.FAILED,
            actor=None,
            reason=reason,
            fields={
                "failure_code": code[:64],
                "failure_message": reason[:500],
                "failed_at": timezone.now(),
                "waiting": "",
                "next_attempt_at": None,
            },
            event=PayoutFailed(**event_fields(payout), failure_code=code, reason=reason, bank_problem=bank_problem),
        )


def payout_bank_payout_settle(*, reference: str, event_id: str = "") -> Payout | None:
    """The processor's word on a bank payout (an event, or the refresh): re-read it and move the
    payout on: paid, or failed (money back). ``None`` for a bank payout that is not ours. An answer
    about an earlier attempt, or one that would move the payout back, changes nothing."""
    row = (
        ProcessorTransaction.objects.filter(kind=ProcessorTransaction.Kind.BANK_PAYOUT, reference=reference)
        .order_by("id")
        .first()
    )
    if row is None:
        return None
    payout = Payout.objects.select_related("account", "bank_payout").filter(pk=row.subject_id).first()
    if payout is None or payout.bank_payout_id != row.pk:
        return payout  # an earlier attempt's payout: its outcome was settled then
    if payout.status != S.IN_TRANSIT:
        return payout
    found = payout_processor(payout.account.processor).bank_payout_retrieve(
        account_reference=payout.account.reference, reference=reference
    )
    if found.status == BankPayoutStatus.PAID:
        return payout_mark_paid(payout_id=payout.pk, attempt=payout.attempt, event_id=event_id)
    if found.status in (BankPayoutStatus.FAILED, BankPayoutStatus.CANCELED):
        return payout_fail(
            payout_id=payout.pk,
            attempt=payout.attempt,
            code=found.failure_code or found.status,
            message=found.failure_message or "The bank payout was cancelled.",
            event_id=event_id,
        )
    return payout


@transaction.atomic
def payout_mark_paid(*, payout_id: int, attempt: int, event_id: str = "") -> Payout:
    payout = payout_lock(payout_id)
    if payout.status != S.IN_TRANSIT or payout.attempt != attempt:
        return payout
    post_paid(payout)
    transaction_record(
        subject=payout,
        processor=payout.account.processor,
        kind=ProcessorTransaction.Kind.BANK_PAYOUT_PAID,
        reference=payout.bank_payout.reference,
        idempotency_key=_record_key(payout, "paid"),
        status="paid",
        amount=payout.net,
        currency=payout.currency,
        event_id=event_id,
    )
    return _transition(
        payout,
        to=S.PAID,
        kind=K.PAID,
        actor=None,
        fields={"paid_at": timezone.now()},
        event=PayoutPaid(**event_fields(payout)),
    )


@event_handler(EventKind.BANK_PAYOUT_CHANGED)
def _bank_payout_changed(event: ProcessorEvent) -> None:
    payout_bank_payout_settle(reference=event.reference, event_id=event.event_id)


# --- beat ---------------------------------------------------------------------------------------


def payouts_execute_due(*, now: datetime | None = None, stuck_after: timedelta = timedelta(minutes=10)) -> list[int]:
    """Payouts in processing that are due again: waiting ones whose time has come, and ones whose
    job was lost (no transfer or bank payout for a while). Returns their ids (enqueued by the task)."""
    now = now or timezone.now()
    due = Payout.objects.filter(status=S.PROCESSING).filter(next_attempt_at__lte=now) | Payout.objects.filter(
        status=S.PROCESSING, next_attempt_at__isnull=True, processing_at__lte=now - stuck_after
    )
    return list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:1000])


def payouts_refresh_in_transit(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Bank payouts in transit whose answer has not come: read them back. Returns how many settled."""
    settled = 0
    cutoff = timezone.now() - older_than
    for reference in Payout.objects.filter(status=S.IN_TRANSIT, in_transit_at__lte=cutoff).values_list(
        "bank_payout__reference", flat=True
    ):
        try:
            payout = payout_bank_payout_settle(reference=reference)
        except PaymentError as exc:
            logger.warning("Bank payout %s not refreshed: %s", reference, exc)
            continue
        if payout is not None and payout.status != S.IN_TRANSIT:
            settled += 1
    return settled

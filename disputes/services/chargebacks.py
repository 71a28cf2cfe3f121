"""Chargebacks: card disputes the client raised with their bank, followed from the processor's events.

Every ``chargeback.*`` event is handled the same way: the chargeback is read back from the
processor (the payload is not trusted) and the ``Chargeback`` row and the ledger are brought in
line with it, each step once (its own idempotency key and timestamp), so duplicated or reordered
events change nothing twice.

The ledger (positive credits an account; the processor balance is the platform's money at the
processor, so money arriving there is a debit):

- **funds withdrawn** — the processor took the amount and its fee from the platform's balance:
  processor balance +(amount + fee), chargeback losses −(amount + fee). If the escrow still holds
  the money it is frozen (``disputed``) until the chargeback closes. If it was released and
  ``CHARGEBACK_RELEASED_POLICY`` is ``reserve``, what the tasker's wallet still holds of their net
  is reserved: wallet −r, chargeback losses +r. Paid out already: the loss is the platform's.
- **won** (funds reinstated) — processor balance −amount, chargeback losses +amount; a wallet
  reservation goes back to the wallet; the escrow is unfrozen and continues. The fee stays a loss.
- **lost** — a still-held escrow covers the loss (escrow −held, chargeback losses +held) and ends
  ``refunded`` (by the bank); a wallet reservation stays taken. The rest is the platform's loss.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from moneyed import Money  # noqa: F401

from accounts.models import User
from core import events
from core.errors import ApplicationError, Conflict, PermissionDenied, ValidationError
from disputes.events import ChargebackClosed, ChargebackOpened
from disputes.models import Chargeback, ChargebackEvent, Dispute, DisputeEvent
from disputes.services.common import clean_text, record
from disputes.services.evidence import file_check
from payments.escrow import (
    escrow_close_by_chargeback,
    escrow_freeze,
    escrow_fund_from_payment,
    escrow_hold_note,
    escrow_needs_attention,
    escrow_unfreeze,
)
from payments.models import Escrow
from processors import registry
from processors.interface import Chargeback as ProcessorChargeback
from processors.interface import EventKind, ProcessorEvent
from processors.keys import idempotency_key
from wallets.models import JournalEntry, LedgerAccount
from wallets.selectors import wallet_account_find
from wallets.services import ledger_post, platform_account, wallet_account_get_or_create

logger = logging.getLogger(__name__)

# Evidence Finance can give (Stripe's field names): text fields, and fields that take a file.
TEXT_FIELDS = {
    "product_description": "What was sold (the task)",
    "service_date": "When the work was done",
    "customer_name": "The client's name",
    "customer_email_address": "The client's email",
    "cancellation_rebuttal": "Why the cancellation does not apply",
    "refund_refusal_explanation": "Why no refund was given",
    "access_activity_log": "Activity on the task (messages, deliveries)",
    "uncategorized_text": "Anything else",
}
FILE_FIELDS = {
    "service_documentation": "The delivered work",
    "customer_communication": "Messages with the client",
    "receipt": "The receipt",
    "uncategorized_file": "Any other document",
}


def _losses(currency: str) -> LedgerAccount:
    return platform_account(kind=LedgerAccount.Kind.CHARGEBACK_LOSSES, currency=currency)


def _processor_balance(currency: str) -> LedgerAccount:
    return platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=currency)


def _note(cb: Chargeback, kind: str, note: str, *, actor: User | None = None, amount=None) -> None:
    ChargebackEvent.objects.create(chargeback=cb, kind=kind, actor=actor, amount=amount, note=note[:500])
    if cb.escrow_id:
        escrow = Escrow.objects.get(pk=cb.escrow_id)
        escrow_hold_note(
            escrow=escrow, actor=actor, note=f"Chargeback {cb.reference}: {note}", amount=amount, chargeback=True
        )


def _ids(cb: Chargeback) -> dict:
    escrow = cb.escrow
    return {
        "chargeback_id": cb.pk,
        "escrow_id": escrow.pk if escrow else None,
        "task_id": escrow.task_id if escrow else None,
        "client_id": escrow.client_id if escrow else None,
        "tasker_id": escrow.tasker_id if escrow else None,
    }


def _chargeback_event(event: ProcessorEvent) -> Chargeback:
    return chargeback_sync(reference=event.reference, processor=event.processor, event_id=event.event_id)


for _kind in EventKind.CHARGEBACK_KINDS:
    registry.event_handler(_kind)(_chargeback_event)


def _escrow_for(answer: ProcessorChargeback) -> Escrow | None:
    """The escrow the disputed charge paid. A chargeback can only follow a successful payment, so an
    escrow whose funding webhook has not arrived yet (events reordered) is funded first, from the
    processor's word (``escrow_fund_from_payment``: once, whatever the order)."""
    escrow = Escrow.objects.filter(payment__charge_reference=answer.charge_reference).order_by("pk").first()
    if (escrow is None or escrow.status == Escrow.Status.AWAITING_PAYMENT) and answer.payment_reference:
        escrow = escrow_fund_from_payment(payment_reference=answer.payment_reference, processor=answer.processor)
        if escrow is not None:
            escrow.refresh_from_db()
    return escrow


def chargeback_sync(*, reference: str, processor: str | None = None, event_id: str = "") -> Chargeback:
    """Bring the chargeback, its escrow and the ledger in line with the processor's word (read now)."""
    answer = registry.processor(processor).chargeback_retrieve(reference)
    escrow = _escrow_for(answer)
    try:
        with transaction.atomic():
            cb, created = Chargeback.objects.get_or_create(
                reference=answer.reference,
                defaults={
                    "processor": answer.processor,
                    "charge_reference": answer.charge_reference,
                    "escrow": escrow,
                    "status": answer.status,
                    "currency": str(answer.amount.currency),
                    "amount": answer.amount.amount,
                },
            )
    except IntegrityError:  # created by a concurrent delivery of another of its events
        cb, created = Chargeback.objects.get(reference=answer.reference), False
    with transaction.atomic():
        cb = Chargeback.objects.select_for_update(of=("self",)).select_related("escrow").get(pk=cb.pk)
        if cb.escrow_id is None and escrow is not None:  # its payment was funded since
            cb.escrow = escrow
        _apply(cb, answer, created=created)
    return cb


def chargebacks_reconcile(*, days: int = 120) -> int:
    """Chargebacks whose events never came (dropped, or the endpoint down past the processor's
    retries): every chargeback the processor opened in the last ``days`` days that Holdfast does not
    know, and every one Holdfast still has open, read back and brought in line by ``chargeback_sync``
    (each step once, so running it again changes nothing). Run by beat. Returns how many changed."""
    processor = registry.processor()
    opened = set(processor.chargeback_references(since=timezone.now() - dt.timedelta(days=days)))
    known = dict(Chargeback.objects.filter(reference__in=opened).values_list("reference", "status"))
    still_open = dict(Chargeback.objects.exclude(status__in=Chargeback.CLOSED).values_list("reference", "status"))
    changed = 0
    for reference in sorted((opened - set(known)) | set(still_open)):
        try:
            cb = chargeback_sync(reference=reference, processor=processor.name)
        except ApplicationError as exc:
            logger.warning("Chargeback %s not brought in line: %s", reference, exc)
            continue
        changed += cb.status != still_open.get(reference)
    return changed


def _apply(cb: Chargeback, answer: ProcessorChargeback, *, created: bool) -> None:
    if created:
        _note(cb, "opened", f"Opened by the client's bank ({answer.reason or 'no reason given'})", amount=cb.amount)
        events.publish(ChargebackOpened(**_ids(cb), amount=cb.amount, currency=cb.currency))
    cb.status = answer.status
    cb.reason = answer.reason[:64]
    cb.amount = answer.amount.amount
    if answer.fee.amount:
        cb.fee = answer.fee.amount
    if answer.evidence_due_by:
        cb.evidence_due_by = dt.datetime.fromtimestamp(answer.evidence_due_by, tz=dt.UTC)
    if answer.withdrawn and cb.funds_withdrawn_at is None:
        _funds_withdrawn(cb)
    if answer.reinstated and cb.funds_withdrawn_at is not None and cb.funds_reinstated_at is None:
        _funds_reinstated(cb)
    if cb.status in Chargeback.CLOSED and cb.closed_at is None and (cb.funds_withdrawn_at or not answer.withdrawn):
        _closed(cb, won=cb.status in (Chargeback.Status.WON, Chargeback.Status.WARNING_CLOSED))
    cb.save()


def _funds_withdrawn(cb: Chargeback) -> None:
    taken = cb.amount + cb.fee
    ledger_post(
        idempotency_key=f"chargeback:{cb.pk}:withdrawn",
        kind=JournalEntry.Kind.CHARGEBACK,
        reference=cb,
        lines=[(_processor_balance(cb.currency), taken), (_losses(cb.currency), -taken)],
        actor=None,
        memo=f"Chargeback {cb.reference}: taken by the bank (amount {cb.amount}, fee {cb.fee})",
    )
    cb.funds_withdrawn_at = timezone.now()
    escrow = cb.escrow
    if escrow is None:
        ChargebackEvent.objects.create(
            chargeback=cb,
            kind="funds_withdrawn",
            amount=taken,
            note="No escrow for this charge: the loss is the platform's",
        )
        return
    escrow.refresh_from_db()
    cb.escrow_was = escrow.status
    if escrow.status in (Escrow.Status.FUNDED, Escrow.Status.DISPUTED):
        try:
            escrow_freeze(escrow=escrow, actor=None, reason=f"Chargeback {cb.reference}: held until the bank decides")
            cb.froze_escrow = True
        except ApplicationError as exc:  # a refund in flight: the escrow is settled by it
            logger.warning("Chargeback %s: escrow %s not frozen: %s", cb.reference, escrow.pk, exc)
        _note(cb, "funds_withdrawn", "The bank took the payment; the escrow is held until it decides", amount=taken)
    elif escrow.status in (Escrow.Status.RELEASED, Escrow.Status.SPLIT):
        reserved = _reserve_from_wallet(cb, escrow)
        _note(
            cb,
            "funds_withdrawn",
            f"The bank took the payment after release; {reserved} {cb.currency} reserved from the tasker's wallet"
            if reserved
            else "The bank took the payment after release; the loss is the platform's",
            amount=taken,
        )
    else:
        _note(
            cb,
            "funds_withdrawn",
            "The bank took the payment; the escrow holds nothing: the loss is the platform's",
            amount=taken,
        )


def _reserve_from_wallet(cb: Chargeback, escrow: Escrow):
    from decimal import Decimal

    if settings.CHARGEBACK_RELEASED_POLICY != "reserve":
        return Decimal("0.00")
    wallet = wallet_account_find(user=escrow.tasker, currency=cb.currency)
    if wallet is None:
        return Decimal("0.00")
    wallet = LedgerAccount.objects.select_for_update().get(pk=wallet.pk)
    amount = min(wallet.balance, escrow.released_to_tasker, cb.amount)
    if amount <= 0:
        return Decimal("0.00")
    ledger_post(
        idempotency_key=f"chargeback:{cb.pk}:reserve",
        kind=JournalEntry.Kind.CHARGEBACK,
        reference=cb,
        lines=[(wallet, -amount), (_losses(cb.currency), amount)],
        actor=None,
        memo=f"Chargeback {cb.reference}: reserved from the tasker's wallet until the bank decides",
    )
    cb.reserved_from_wallet = amount
    return amount


def _funds_reinstated(cb: Chargeback) -> None:
    ledger_post(
        idempotency_key=f"chargeback:{cb.pk}:reinstated",
        kind=JournalEntry.Kind.CHARGEBACK_REVERSAL,
        reference=cb,
        lines=[(_processor_balance(cb.currency), -cb.amount), (_losses(cb.currency), cb.amount)],
        actor=None,
        memo=f"Chargeback {cb.reference} won: the bank gave the payment back",
    )
    cb.funds_reinstated_at = timezone.now()
    if cb.reserved_from_wallet:
        escrow = cb.escrow
        ledger_post(
            idempotency_key=f"chargeback:{cb.pk}:reserve-returned",
            kind=JournalEntry.Kind.CHARGEBACK_REVERSAL,
            reference=cb,
            lines=[
                (_losses(cb.currency), -cb.reserved_from_wallet),
                (wallet_account_get_or_create(user=escrow.tasker, currency=cb.currency), cb.reserved_from_wallet),
            ],
            actor=None,
            memo=f"Chargeback {cb.reference} won: the reservation goes back to the wallet",
        )
    _note(cb, "funds_reinstated", "Won: the bank gave the payment back", amount=cb.amount)


def _closed(cb: Chargeback, *, won: bool) -> None:
    cb.closed_at = timezone.now()
    escrow = cb.escrow
    if escrow is not None:
        escrow.refresh_from_db()
        active = Dispute.objects.filter(escrow=escrow, status__in=Dispute.ACTIVE).first()
        if won and escrow.status == Escrow.Status.DISPUTED and active is None:
            escrow_unfreeze(escrow=escrow, actor=None, reason=f"Chargeback {cb.reference} won: the escrow continues")
        elif not won and escrow.status in (Escrow.Status.FUNDED, Escrow.Status.DISPUTED):
            try:
                escrow_close_by_chargeback(
                    escrow=escrow,
                    key=f"chargeback:{cb.pk}:lost",
                    reason=f"Chargeback {cb.reference} lost: refunded to the client by the bank",
                )
            except ApplicationError as exc:  # a refund of ours in flight: only a person can sort it out
                escrow_needs_attention(escrow, f"Chargeback {cb.reference} lost but the escrow not closed: {exc}")
                logger.error("Chargeback %s lost; escrow %s not closed: %s", cb.reference, escrow.pk, exc)
            else:
                if active is not None:
                    _dispute_closed_by_bank(active, cb)
    _note(cb, "closed", "Won" if won else "Lost: the loss is booked")
    events.publish(ChargebackClosed(**_ids(cb), won=won))


def _dispute_closed_by_bank(dispute: Dispute, cb: Chargeback) -> None:
    Dispute.objects.filter(pk=dispute.pk, status__in=Dispute.ACTIVE).update(
        status=Dispute.Status.RESOLVED,
        outcome=Dispute.Outcome.REFUND,
        ruling_reason=f"The client's bank took the payment back (chargeback {cb.reference} lost).",
        resolved_at=timezone.now(),
    )
    record(
        dispute,
        DisputeEvent.Kind.RULED,
        actor=None,
        note=f"Closed: chargeback {cb.reference} lost",
        from_status=dispute.status,
        to_status=Dispute.Status.RESOLVED,
    )


# --- Finance ---------------------------------------------------------------------------------


def _require_finance(actor: User) -> None:
    if not (actor and actor.is_active and actor.is_staff and actor.has_perm("disputes.respond_chargeback")):
        raise PermissionDenied("Only Finance staff may answer a chargeback.", code="chargeback_not_allowed")


def _require_open(cb: Chargeback) -> None:
    if cb.is_closed or cb.status not in (Chargeback.Status.NEEDS_RESPONSE, Chargeback.Status.WARNING_NEEDS_RESPONSE):
        raise Conflict(
            f"This chargeback is {cb.get_status_display().lower()}: it takes no evidence now.",
            code="chargeback_not_answerable",
        )
    if cb.evidence_due_by and timezone.now() > cb.evidence_due_by:
        raise Conflict("The deadline for evidence has passed.", code="evidence_past_due")


def chargeback_evidence_submit(
    *,
    chargeback: Chargeback,
    actor: User,
    text: Mapping[str, str],
    files: Mapping[str, UploadedFile | None] | None = None,
) -> Chargeback:
    """Finance answers the bank before ``evidence_due_by``: text fields and files (uploaded to the
    processor's files API first). Checked before anything is sent; sent with keys derived from the
    content, so a double submit sends once."""
    _require_finance(actor)
    cb = Chargeback.objects.get(pk=chargeback.pk)
    _require_open(cb)
    unknown = set(text) - set(TEXT_FIELDS)
    unknown_files = set(files or {}) - set(FILE_FIELDS)
    if unknown or unknown_files:
        raise ValidationError(
            "Evidence can only be given in the listed fields.",
            code="evidence_field_invalid",
            details={"fields": sorted(unknown | unknown_files)},
        )
    cleaned = {
        field: clean_text(value, field=field, label=TEXT_FIELDS[field].lower(), required=False)
        for field, value in text.items()
    }
    cleaned = {k: v for k, v in cleaned.items() if v}
    checked = {field: file_check(upload, field=field) for field, upload in (files or {}).items() if upload}
    if not cleaned and not checked:
        raise ValidationError("Give at least one piece of evidence.", code="evidence_required")
    processor = registry.processor(cb.processor)
    uploaded = {}
    for field, f in checked.items():
        digest = hashlib.sha256(f.content).hexdigest()[:32]
        uploaded[field] = processor.chargeback_file_upload(
            name=f.name,
            content=f.content,
            content_type=f.content_type,
            key=idempotency_key("chargeback-file", cb.pk, field, digest),
        )
    digest = hashlib.sha256(repr((sorted(cleaned.items()), sorted(uploaded.items()))).encode()).hexdigest()[:32]
    processor.chargeback_evidence_submit(
        cb.reference, text=cleaned, files=uploaded, key=idempotency_key("chargeback-evidence", cb.pk, digest)
    )
    with transaction.atomic():
        locked = Chargeback.objects.select_for_update().get(pk=cb.pk)
        locked.evidence_submitted_at = timezone.now()
        locked.save(update_fields=["evidence_submitted_at", "updated_at"])
        _note(locked, "evidence_submitted", f"Evidence sent: {', '.join(sorted([*cleaned, *uploaded]))}", actor=actor)
    return chargeback_sync(reference=cb.reference, processor=cb.processor)


def chargeback_accept(*, chargeback: Chargeback, actor: User) -> Chargeback:
    """Finance accepts the chargeback (no evidence): the bank keeps the payment; booked as lost."""
    _require_finance(actor)
    cb = Chargeback.objects.get(pk=chargeback.pk)
    _require_open(cb)
    registry.processor(cb.processor).chargeback_accept(cb.reference, key=idempotency_key("chargeback-accept", cb.pk))
    with transaction.atomic():
        locked = Chargeback.objects.select_for_update().get(pk=cb.pk)
        if locked.accepted_at is None:
            locked.accepted_at = timezone.now()
            locked.save(update_fields=["accepted_at", "updated_at"])
            _note(locked, "accepted", "Accepted by Finance: the bank keeps the payment", actor=actor)
    return chargeback_sync(reference=cb.reference, processor=cb.processor)

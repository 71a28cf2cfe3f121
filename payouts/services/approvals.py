"""The Finance stage of a payout: approve (maker-checker), hold, release, cancel or refuse, retry."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.money import format_money
from payouts.errors import PayoutError, PayoutInputError, PayoutPermissionDenied
from payouts.events import PayoutApproved, PayoutCancelled
from payouts.models import Payout, PayoutEvent
from payouts.services.ledger import _allocate_sources, _post_taken, post_returned
from payouts.services.lifecycle import K, S, _enqueue_execute, _transition, event_fields, payout_lock, payout_note
from payouts.services.requests import payout_account_ready, payout_arrival_estimate
from wallets.selectors import wallet_account_find


def _require_finance(actor: User) -> None:
    if not actor.has_perm("payouts.approve_payout"):
        raise PayoutPermissionDenied()


@transaction.atomic
def payout_approve(*, payout: Payout, actor: User) -> Payout:
    """Finance approves. Above ``PAYOUT_SECOND_APPROVAL_THRESHOLD`` two different Finance users
    must (maker-checker): the same user approving twice is refused (``second_approver_same``), and
    nobody approves their own payout. With the last approval it goes to processing. Idempotent."""
    _require_finance(actor)
    payout = payout_lock(payout.pk)
    if payout.tasker_id == actor.pk:
        raise PayoutPermissionDenied("Nobody may approve their own payout.", code="payout_approve_own")
    if payout.status != S.REQUESTED:
        done = payout.approvals_given >= payout.approvals_required
        if payout.status in (S.PROCESSING, S.IN_TRANSIT, S.PAID) and done:
            return payout  # approved already: a double click
        raise PayoutError(
            f"This payout is {payout.get_status_display().lower()}; "
            "only a payout waiting for approval can be approved.",
            code="payout_not_awaiting_approval",
        )
    now = timezone.now()
    if payout.approved_by_id is None:
        payout.approved_by, payout.approved_at = actor, now
        reason = "First approval" if payout.approvals_required > 1 else "Approved"
    elif payout.approved_by_id == actor.pk:
        if payout.approvals_required > 1:
            raise PayoutPermissionDenied(
                "You gave the first approval; a second, different Finance user must give the second.",
                code="second_approver_same",
            )
        return payout
    else:
        payout.second_approved_by, payout.second_approved_at = actor, now
        reason = "Second approval"
    if payout.approvals_given < payout.approvals_required:
        payout.save(update_fields=["approved_by", "approved_at", "updated_at"])
        payout_note(payout, kind=K.APPROVED, reason=f"{reason}; a second Finance user must also approve.", actor=actor)
        return payout
    PayoutEvent.objects.create(
        payout=payout, kind=K.APPROVED, from_status=S.REQUESTED, to_status=S.REQUESTED, actor=actor, reason=reason
    )
    _transition(
        payout,
        to=S.PROCESSING,
        kind=K.PROCESSING,
        actor=actor,
        fields={"processing_at": now},
        event=PayoutApproved(**event_fields(payout), approver_id=actor.pk),
    )
    _enqueue_execute(payout)
    return payout


def _stoppable(payout: Payout) -> bool:
    """Before any money moved at the processor: waiting for approval, on hold, or processing
    that has not made its transfer yet."""
    return payout.status in (S.REQUESTED, S.ON_HOLD) or (payout.status == S.PROCESSING and payout.transfer_id is None)


def transfer_unconfirmed(payout: Payout) -> bool:
    """Its last transfer request is unanswered (in flight, lost, or its worker was killed): the
    processor may have made it. The next execution asks again with the same key and learns which
    (``payouts_execute_due``, minutes)."""
    return payout.status == S.PROCESSING and payout.transfer_id is None and payout.transfer_sent_at is not None


def _refuse_while_transfer_unconfirmed(payout: Payout) -> None:
    # Cancelling now would return the money to the wallet while it may be on the connected account
    # too; a hold clears the waiting state, and a cancel from the hold would do the same.
    if transfer_unconfirmed(payout):
        raise PayoutError(
            "The payment service has not yet confirmed whether this payout's transfer was made; "
            "try again in a few minutes.",
            code="payout_transfer_unconfirmed",
        )


@transaction.atomic
def payout_hold(*, payout: Payout, actor: User, reason: str) -> Payout:
    """Finance holds a payout that has not moved money yet. Idempotent."""
    _require_finance(actor)
    if not reason.strip():
        raise PayoutInputError("Say why the payout is held.", code="reason_required", details={"field": "reason"})
    payout = payout_lock(payout.pk)
    if payout.status == S.ON_HOLD:
        return payout
    if not _stoppable(payout):
        raise PayoutError(
            "The money is already on its way to the bank; this payout can no longer be held.",
            code="payout_not_stoppable",
        )
    _refuse_while_transfer_unconfirmed(payout)
    return _transition(
        payout,
        to=S.ON_HOLD,
        kind=K.HELD,
        actor=actor,
        reason=reason,
        fields={"hold_reason": reason[:500], "waiting": "", "next_attempt_at": None},
    )


@transaction.atomic
def payout_release_hold(*, payout: Payout, actor: User) -> Payout:
    """Finance releases a hold: back to approval if approvals are missing, else to processing."""
    _require_finance(actor)
    payout = payout_lock(payout.pk)
    if payout.status != S.ON_HOLD:
        if payout.status in (S.REQUESTED, S.PROCESSING):
            return payout
        raise PayoutError("Only a payout on hold can be released.", code="payout_not_on_hold")
    if payout.approvals_given < payout.approvals_required:
        return _transition(payout, to=S.REQUESTED, kind=K.RELEASED, actor=actor, fields={"hold_reason": ""})
    _transition(
        payout,
        to=S.PROCESSING,
        kind=K.RELEASED,
        actor=actor,
        fields={"hold_reason": "", "processing_at": timezone.now()},
    )
    _enqueue_execute(payout)
    return payout


@transaction.atomic
def payout_cancel(*, payout: Payout, actor: User, reason: str = "") -> Payout:
    """Cancel (the tasker) or refuse (Finance) a payout before its money moved at the processor;
    the money goes back to the wallet. A failed payout can be cancelled too (its money is back
    already). Idempotent."""
    is_owner = payout.tasker_id == actor.pk
    if not is_owner:
        _require_finance(actor)
    payout = payout_lock(payout.pk)
    if payout.status == S.CANCELLED:
        return payout
    if payout.status != S.FAILED and not _stoppable(payout):
        raise PayoutError(
            "The money is already on its way to the bank; this payout can no longer be cancelled.",
            code="payout_not_stoppable",
        )
    _refuse_while_transfer_unconfirmed(payout)
    reason = reason.strip() or ("Cancelled by the tasker" if is_owner else "Refused by Finance")
    if payout.status != S.FAILED:
        post_returned(payout, actor=actor, memo=f"Payout #{payout.pk} cancelled: {reason}")
        PayoutEvent.objects.create(
            payout=payout,
            kind=K.MONEY_RETURNED,
            from_status=payout.status,
            to_status=payout.status,
            actor=actor,
            reason=f"{format_money(payout.amount, payout.currency)} back in the wallet",
        )
    return _transition(
        payout,
        to=S.CANCELLED,
        kind=K.CANCELLED,
        actor=actor,
        reason=reason,
        fields={"cancelled_at": timezone.now(), "waiting": "", "next_attempt_at": None},
        event=PayoutCancelled(**event_fields(payout), reason=reason, actor_id=actor.pk),
    )


@transaction.atomic
def payout_retry(*, payout: Payout, actor: User) -> Payout:
    """A failed payout is tried again as a new attempt: the amount leaves the wallet again (refused
    if it was spent meanwhile) and goes to processing with new processor keys. The tasker or Finance."""
    if payout.tasker_id != actor.pk:
        _require_finance(actor)
    payout = payout_lock(payout.pk)
    if payout.status in (S.PROCESSING, S.IN_TRANSIT, S.PAID):
        return payout  # retried already
    if payout.status != S.FAILED:
        raise PayoutError("Only a failed payout can be retried.", code="payout_not_failed")
    account = payout_account_ready(tasker=payout.tasker)
    payout.attempt += 1
    payout.account = account
    payout.transfer = None
    payout.bank_payout = None
    payout.transfer_tries = 0
    payout.transfer_sent_at = None
    _post_taken(payout, actor)
    wallet = wallet_account_find(user=payout.tasker, currency=payout.currency)
    _allocate_sources(payout, wallet)
    now = timezone.now()
    _transition(
        payout,
        to=S.PROCESSING,
        kind=K.RETRIED,
        actor=actor,
        reason=f"Attempt {payout.attempt}",
        fields={
            "processing_at": now,
            "failure_code": "",
            "failure_message": "",
            "failed_at": None,
            "arrival_estimate": payout_arrival_estimate(now),
        },
    )
    _enqueue_execute(payout)
    return payout

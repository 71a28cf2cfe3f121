"""Rulings on a dispute: Support rules, a second staff member approves (maker-checker), carried out on the escrow.

A ruling is *claimed* on the dispute first (its outcome written under the dispute's lock) and
carried out on the escrow afterwards, outside that lock (the processor is never called while a
row is locked). Once claimed, no other outcome can be ruled: two staff members ruling at once,
a settlement accepted at that moment, or a ruling run twice all end in one outcome. A split whose
refund the processor has not confirmed yet keeps its claim; running it again finishes it.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError, Conflict, PermissionDenied, ValidationError
from disputes.events import DisputeRuled, DisputeRulingAwaitsApproval
from disputes.models import Dispute, DisputeEvent
from disputes.services.common import (
    REASON_MAX_LENGTH,
    clean_text,
    held,
    lock,
    open_chargeback,
    parse_share,
    publish,
    record,
    require_active,
    require_ruler,
)
from payments.escrow import Ruling, escrow_hold_note, escrow_rule
from payments.models import Escrow

S = Dispute.Status
RULED_STATUS = {
    Ruling.RELEASE: Escrow.Status.RELEASED,
    Ruling.REFUND: Escrow.Status.REFUNDED,
    Ruling.SPLIT: Escrow.Status.SPLIT,
}
# Refusals of a ruling that running it again can finish: the claim is kept.
RETRYABLE = frozenset({"refund_pending", "refund_in_progress", "payment_provider_unavailable"})


def _ruling_checked(dispute: Dispute, outcome: str, reason: str, client_refund: object) -> tuple[str, Decimal | None]:
    if outcome not in Ruling.CHOICES:
        raise ValidationError("Rule release, refund or split.", code="ruling_invalid", details={"field": "outcome"})
    reason = clean_text(reason, field="reason", label="reason for the ruling", max_length=REASON_MAX_LENGTH)
    if outcome != Ruling.SPLIT:
        return reason, None
    if client_refund in (None, ""):
        raise ValidationError("Say how much goes back to the client.", code="split_amount_required")
    amount = parse_share(client_refund, dispute.escrow, field="client_refund", allow_zero=False)
    if amount >= held(dispute.escrow):
        raise ValidationError(
            f"A split gives the client less than the {held(dispute.escrow)} {dispute.currency} held.",
            code="split_amount_invalid",
            details={"field": "client_refund", "held": str(held(dispute.escrow))},
        )
    return reason, amount


def dispute_rule(*, dispute: Dispute, actor: User, outcome: str, reason: str, client_refund: object = None) -> Dispute:
    """Support rules: ``release`` to the tasker, ``refund`` the client, or ``split`` (``client_refund``
    back to the client, the rest released with the fee rule). Only staff with ``rule_dispute``.
    A ruling on more than ``DISPUTE_SECOND_APPROVAL_AMOUNT`` is recorded as proposed and carried
    out when a second staff member approves it (``dispute_ruling_approve``)."""
    require_ruler(actor)
    dispute = Dispute.objects.select_related("escrow").get(pk=dispute.pk)
    if dispute.outcome:  # claimed already: the same ruling again finishes it, another is refused
        if outcome != dispute.outcome or (outcome == Ruling.SPLIT and _decimal(client_refund) != dispute.client_refund):
            raise Conflict("This dispute has been ruled on already.", code="dispute_already_ruled")
        return _rule(
            dispute=dispute,
            outcome=dispute.outcome,
            client_refund=dispute.client_refund,
            reason=dispute.ruling_reason,
            ruled_by=dispute.ruled_by,
            approved_by=dispute.approved_by,
            by_agreement=dispute.by_agreement,
        )
    reason, amount = _ruling_checked(dispute, outcome, reason, client_refund)
    if held(dispute.escrow) > settings.DISPUTE_SECOND_APPROVAL_AMOUNT:
        with transaction.atomic():
            dispute = lock(dispute.pk)
            if dispute.status == S.RESOLVED and dispute.outcome == outcome:
                return dispute
            require_active(dispute)
            if dispute.outcome:
                raise Conflict("This dispute has been ruled on already.", code="dispute_already_ruled")
            if dispute.proposed_outcome:
                raise Conflict("A ruling already waits for a second approval.", code="ruling_awaits_approval")
            dispute.proposed_outcome, dispute.proposed_client_refund = outcome, amount
            dispute.proposed_reason, dispute.proposed_by = reason, actor
            dispute.save(
                update_fields=[
                    "proposed_outcome",
                    "proposed_client_refund",
                    "proposed_reason",
                    "proposed_by",
                    "updated_at",
                ]
            )
            record(
                dispute,
                DisputeEvent.Kind.RULING_PROPOSED,
                actor=actor,
                amount=amount,
                note=f"{Dispute.Outcome(outcome).label}: {reason}",
            )
            escrow_hold_note(
                escrow=dispute.escrow,
                actor=actor,
                amount=amount,
                note=f"Dispute #{dispute.pk}: ruling ({outcome}) waits for a second approval",
            )
            publish(DisputeRulingAwaitsApproval, dispute, proposed_by_id=actor.pk, outcome=outcome)
            return dispute
    return _rule(
        dispute=dispute, outcome=outcome, client_refund=amount, reason=reason, ruled_by=actor, approved_by=None
    )


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def dispute_ruling_approve(*, dispute: Dispute, actor: User) -> Dispute:
    """A second staff member confirms a proposed ruling (maker-checker): it is carried out."""
    require_ruler(actor)
    dispute = Dispute.objects.select_related("escrow").get(pk=dispute.pk)
    if dispute.status == S.RESOLVED:
        return dispute
    if not dispute.proposed_outcome:
        raise Conflict("No ruling waits for approval.", code="no_ruling_proposed")
    if dispute.proposed_by_id == actor.pk:
        raise PermissionDenied(
            "A second staff member must approve this ruling, not the one who proposed it.",
            code="second_approval_required",
        )
    return _rule(
        dispute=dispute,
        outcome=dispute.proposed_outcome,
        client_refund=dispute.proposed_client_refund,
        reason=dispute.proposed_reason,
        ruled_by=dispute.proposed_by,
        approved_by=actor,
    )


@transaction.atomic
def dispute_ruling_reject(*, dispute: Dispute, actor: User, note: str = "") -> Dispute:
    """The second staff member turns a proposed ruling down: nothing is carried out."""
    require_ruler(actor)
    dispute = lock(dispute.pk)
    if not dispute.proposed_outcome or dispute.outcome:
        raise Conflict("No ruling waits for approval.", code="no_ruling_proposed")
    if dispute.proposed_by_id == actor.pk:
        raise PermissionDenied("Another staff member decides on your proposal.", code="second_approval_required")
    record(dispute, DisputeEvent.Kind.RULING_PROPOSED, actor=actor, note=f"Proposed ruling turned down. {note}"[:500])
    dispute.proposed_outcome, dispute.proposed_client_refund, dispute.proposed_reason = "", None, ""
    dispute.proposed_by = None
    dispute.save(
        update_fields=["proposed_outcome", "proposed_client_refund", "proposed_reason", "proposed_by", "updated_at"]
    )
    return dispute


def _rule(
    *,
    dispute: Dispute,
    outcome: str,
    client_refund: Decimal | None,
    reason: str,
    ruled_by: User | None,
    approved_by: User | None,
    by_agreement: bool = False,
) -> Dispute:
    """Claim the ruling on the dispute, carry it out on the escrow, then mark the dispute resolved."""
    with transaction.atomic():
        dispute = lock(dispute.pk)
        if dispute.outcome:
            same = dispute.outcome == outcome and dispute.client_refund == client_refund
            if not same:
                raise Conflict("This dispute has been ruled on already.", code="dispute_already_ruled")
            if dispute.status == S.RESOLVED:
                return dispute
        else:
            require_active(dispute)
            if open_chargeback(dispute.escrow_id):
                raise Conflict(
                    "The client's bank is disputing this payment: rule once the chargeback is closed.",
                    code="chargeback_open",
                )
            dispute.outcome, dispute.client_refund, dispute.ruling_reason = outcome, client_refund, reason
            dispute.ruled_by, dispute.approved_by, dispute.by_agreement = ruled_by, approved_by, by_agreement
            dispute.save(
                update_fields=[
                    "outcome",
                    "client_refund",
                    "ruling_reason",
                    "ruled_by",
                    "approved_by",
                    "by_agreement",
                    "updated_at",
                ]
            )
    try:
        escrow = escrow_rule(
            escrow=dispute.escrow, actor=ruled_by, outcome=outcome, reason=reason, client_refund=client_refund
        )
    except ApplicationError as exc:
        # Another run of this same ruling may have carried it out meanwhile (its refund made the
        # escrow refunded between this run's read and its lock): then it is done, not refused.
        escrow = Escrow.objects.get(pk=dispute.escrow_id)
        if escrow.status != RULED_STATUS[outcome]:
            if exc.code not in RETRYABLE:
                _unclaim(dispute, outcome)
            raise
    if escrow.status != RULED_STATUS[outcome]:
        # The processor has not confirmed the refund yet: the claim stays, and the escrow's event
        # when it settles finishes the ruling (``dispute_ruling_finish``, from disputes.subscribers).
        dispute.refresh_from_db()
        return dispute
    with transaction.atomic():
        dispute = lock(dispute.pk)
        if dispute.status == S.RESOLVED or dispute.outcome != outcome:
            return dispute
        refunded = (
            client_refund
            if outcome == Ruling.SPLIT
            else (held_before(dispute, escrow) if outcome == Ruling.REFUND else Decimal("0.00"))
        )
        record(
            dispute,
            DisputeEvent.Kind.RULED,
            actor=approved_by or ruled_by,
            amount=refunded,
            note=f"{Dispute.Outcome(outcome).label}. {reason}",
            from_status=dispute.status,
            to_status=S.RESOLVED,
        )
        dispute.status = S.RESOLVED
        dispute.resolved_at = timezone.now()
        dispute.save(update_fields=["status", "resolved_at", "updated_at"])
        escrow_hold_note(
            escrow=escrow,
            actor=approved_by or ruled_by,
            amount=refunded,
            note=f"Dispute #{dispute.pk} resolved{' by agreement' if by_agreement else ''}: {outcome}",
        )
        publish(DisputeRuled, dispute, outcome=outcome, client_refund=refunded, by_agreement=by_agreement)
        return dispute


def dispute_ruling_finish(*, dispute: Dispute) -> Dispute:
    """Finish a ruling claimed earlier whose refund the processor had not confirmed then (the same
    ruling, run again: nothing is moved twice). A dispute with no claim, or resolved, is returned."""
    dispute = Dispute.objects.select_related("escrow", "ruled_by", "approved_by").get(pk=dispute.pk)
    if not dispute.outcome or not dispute.is_active:
        return dispute
    return _rule(
        dispute=dispute,
        outcome=dispute.outcome,
        client_refund=dispute.client_refund,
        reason=dispute.ruling_reason,
        ruled_by=dispute.ruled_by,
        approved_by=dispute.approved_by,
        by_agreement=dispute.by_agreement,
    )


def held_before(dispute: Dispute, escrow: Escrow) -> Decimal:
    """What a refund ruling gave back: everything the escrow held when it was frozen."""
    return escrow.refunded_amount


@transaction.atomic
def _unclaim(dispute: Dispute, outcome: str) -> None:
    """Give a ruling's claim up after a refusal, so Support can rule otherwise — only while the escrow
    is still held with nothing of the ruling under way (it never clears a ruling carried out)."""
    dispute = lock(dispute.pk)
    escrow = Escrow.objects.get(pk=dispute.escrow_id)
    under_way = escrow.status != Escrow.Status.DISPUTED or escrow.refunds.filter(status="pending").exists()
    if dispute.status != S.RESOLVED and dispute.outcome == outcome and not under_way:
        dispute.outcome, dispute.client_refund, dispute.ruling_reason = "", None, ""
        dispute.ruled_by = dispute.approved_by = None
        dispute.by_agreement = False
        dispute.proposed_outcome, dispute.proposed_client_refund, dispute.proposed_reason = "", None, ""
        dispute.proposed_by = None
        dispute.save()

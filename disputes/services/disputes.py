"""A dispute's life: open, talk, settle, withdraw, Support's queue, and rulings (maker-checker).

Lock order: a dispute row, then its escrow (``payments.escrow.holds`` locks the escrow), then the
ledger. Opening locks the escrow first but only inserts the dispute (it locks no dispute row).

A ruling is *claimed* on the dispute first (its outcome written under the dispute's lock) and
carried out on the escrow afterwards, outside that lock (the processor is never called while a
row is locked). Once claimed, no other outcome can be ruled: two staff members ruling at once,
a settlement accepted at that moment, or a ruling run twice all end in one outcome. A split whose
refund the processor has not confirmed yet keeps its claim; running it again finishes it.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationError
from disputes.events import (
    DisputeEscalated,
    DisputeMessagePosted,
    DisputeOpened,
    DisputeRuled,
    DisputeRulingAwaitsApproval,
    DisputeSettlementProposed,
    DisputeWithdrawn,
)
from disputes.models import Chargeback, Dispute, DisputeEvent, DisputeMessage
from disputes.services.common import (
    REASON_MAX_LENGTH,
    clean_text,
    dispute_not_found,
    held,
    is_party,
    is_support,
    lock,
    parse_share,
    publish,
    record,
    require_party_or_support,
    require_ruler,
    response_days,
)
from payments.escrow import Ruling, escrow_freeze, escrow_hold_note, escrow_lock, escrow_rule, escrow_unfreeze
from payments.models import Escrow

S = Dispute.Status
RULED_STATUS = {
    Ruling.RELEASE: Escrow.Status.RELEASED,
    Ruling.REFUND: Escrow.Status.REFUNDED,
    Ruling.SPLIT: Escrow.Status.SPLIT,
}
# Refusals of a ruling that running it again can finish: the claim is kept.
RETRYABLE = frozenset({"refund_pending", "refund_in_progress", "payment_provider_unavailable"})


def _open_chargeback(escrow_id: int) -> bool:
    return Chargeback.objects.filter(escrow_id=escrow_id, closed_at__isnull=True).exists()


def dispute_open(
    *, escrow: Escrow, actor: User, reason: str, description: str, amount_in_question: object = None
) -> Dispute:
    """Either party opens a dispute on an escrow that still holds the client's money (funded, in
    the review window or not). The escrow is frozen (no release, approve, cancel or refund) until
    a ruling, a settlement or a withdrawal. A second active dispute on the escrow is refused
    (``dispute_already_open``), by this check and by a unique index. ``amount_in_question``
    defaults to everything held."""
    if actor.pk not in (escrow.client_id, escrow.tasker_id):
        raise NotFound("No such escrow.", code="escrow_not_found")
    if reason not in Dispute.Reason.values:
        raise ValidationError(
            "Choose one of the listed reasons.",
            code="reason_invalid",
            details={"field": "reason", "choices": list(Dispute.Reason.values)},
        )
    description = clean_text(description, field="description", label="description")
    try:
        with transaction.atomic():
            escrow = escrow_lock(escrow.pk)
            if Dispute.objects.filter(escrow=escrow, status__in=Dispute.ACTIVE).exists():
                raise Conflict("A dispute is already open on this escrow.", code="dispute_already_open")
            if escrow.status not in (Escrow.Status.FUNDED, Escrow.Status.DISPUTED):
                raise Conflict(
                    f"This escrow is {escrow.get_status_display().lower()}: only money still held can be disputed.",
                    code="escrow_not_disputable",
                )
            amount = (
                held(escrow)
                if amount_in_question in (None, "")
                else parse_share(amount_in_question, escrow, field="amount_in_question", allow_zero=False)
            )
            label = Dispute.Reason(reason).label
            was_frozen = escrow.status == Escrow.Status.DISPUTED  # by a chargeback
            escrow = escrow_freeze(escrow=escrow, actor=actor, reason=f"Dispute opened: {label}")
            now = timezone.now()
            dispute = Dispute.objects.create(
                escrow=escrow,
                opened_by=actor,
                reason=reason,
                description=description,
                amount_in_question=amount,
                currency=escrow.currency,
                respond_by=now + response_days(),
            )
            record(dispute, DisputeEvent.Kind.OPENED, actor=actor, note=label, amount=amount, to_status=S.OPEN)
            if was_frozen:
                escrow_hold_note(escrow=escrow, actor=actor, note=f"Dispute #{dispute.pk} opened: {label}")
            publish(
                DisputeOpened,
                dispute,
                opened_by_id=actor.pk,
                reason=reason,
                amount_in_question=amount,
                currency=escrow.currency,
            )
            return dispute
    except IntegrityError:  # another request opened one at the same moment
        raise Conflict("A dispute is already open on this escrow.", code="dispute_already_open")


def dispute_cancel_request(*, escrow: Escrow, actor: User, reason: str = "") -> Escrow:
    """A client cancels a funded task before delivery: the work has started, so the tasker is asked to
    agree. It is a dispute (reason ``cancel_request``) carrying the client's proposal of nothing to the
    tasker: the tasker accepting it refunds the client in full (the task is cancelled); the tasker
    proposing another split, or not answering by ``respond_by``, leaves it to the parties or Support.
    Asking twice returns the escrow as it is. Registered with ``payments.escrow.holds``, so the
    marketplace's cancel and the escrow API's cancel both come here."""
    if actor.pk != escrow.client_id:
        raise NotFound("No such escrow.", code="escrow_not_found")
    with transaction.atomic():
        escrow = escrow_lock(escrow.pk)
        active = Dispute.objects.filter(escrow=escrow, status__in=Dispute.ACTIVE).first()
        if active is not None and active.reason == Dispute.Reason.CANCEL_REQUEST:
            return escrow
        if escrow.status != Escrow.Status.FUNDED:
            raise Conflict(
                f"This escrow is {escrow.get_status_display().lower()} and cannot be cancelled.",
                code="escrow_not_cancellable",
            )
        if escrow.status == Escrow.Status.FUNDED and escrow.release_due_at is not None:  # checked under the lock
            raise Conflict("The work was delivered: approve it or ask for changes instead.", code="escrow_delivered")
        note = reason.strip() if isinstance(reason, str) else ""
        dispute = dispute_open(
            escrow=escrow,
            actor=actor,
            reason=Dispute.Reason.CANCEL_REQUEST,
            description=(
                "The client asks to cancel the task. The work has started, so the payment is refunded "
                "only if the tasker agrees (or Support decides)." + (f"\n\nThe client's reason: {note}" if note else "")
            )[:5000],
        )
        dispute_settlement_propose(dispute=dispute, actor=actor, tasker_amount="0")
    escrow.refresh_from_db()
    return escrow


def _require_active(dispute: Dispute) -> None:
    if not dispute.is_active:
        raise Conflict(f"This dispute is {dispute.get_status_display().lower()}.", code="dispute_closed")


@transaction.atomic
def dispute_message_post(*, dispute: Dispute, actor: User, body: str) -> DisputeMessage:
    """A message in the dispute's one thread (the parties and Support). The other party's first
    message is their response; a party answering Support's question puts it back under review."""
    require_party_or_support(dispute, actor)
    body = clean_text(body, field="body", label="message")
    dispute = lock(dispute.pk)
    _require_active(dispute)
    party = is_party(dispute, actor)
    message = DisputeMessage.objects.create(dispute=dispute, author=actor, body=body, from_support=not party)
    record(dispute, DisputeEvent.Kind.MESSAGE, actor=actor, note=body[:120])
    if party:
        _responded(dispute, actor)
    publish(DisputeMessagePosted, dispute, message_id=message.pk, author_id=actor.pk, from_support=not party)
    return message


def _responded(dispute: Dispute, actor: User) -> None:
    """Called under the dispute's lock when a party says something (message, evidence, proposal)."""
    fields = []
    if actor.pk != dispute.opened_by_id and dispute.responded_at is None:
        dispute.responded_at = timezone.now()
        fields.append("responded_at")
        record(dispute, DisputeEvent.Kind.RESPONDED, actor=actor)
    if dispute.status == S.AWAITING_RESPONSE:
        record(dispute, DisputeEvent.Kind.RESPONDED, actor=actor, from_status=dispute.status, to_status=S.UNDER_REVIEW)
        dispute.status = S.UNDER_REVIEW
        fields.append("status")
    if fields:
        dispute.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def dispute_settlement_propose(*, dispute: Dispute, actor: User, tasker_amount: object) -> Dispute:
    """A party proposes how to share the held money: ``tasker_amount`` to the tasker's side (their
    net is worked out with the fee rule), the rest refunded to the client. It replaces any earlier
    proposal; the other party accepts it with ``dispute_settlement_accept``."""
    dispute = lock(dispute.pk)
    if not is_party(dispute, actor):
        raise dispute_not_found()
    _require_active(dispute)
    if dispute.outcome or dispute.proposed_outcome:
        raise Conflict("Support is already ruling on this dispute.", code="dispute_being_ruled")
    amount = parse_share(tasker_amount, dispute.escrow, field="tasker_amount", allow_zero=True)
    dispute.settlement_tasker_amount = amount
    dispute.settlement_proposed_by = actor
    dispute.settlement_proposed_at = timezone.now()
    dispute.save(
        update_fields=["settlement_tasker_amount", "settlement_proposed_by", "settlement_proposed_at", "updated_at"]
    )
    record(dispute, DisputeEvent.Kind.SETTLEMENT_PROPOSED, actor=actor, amount=amount, note="Amount to the tasker")
    note = f"Dispute #{dispute.pk}: settlement proposed (to the tasker)"
    escrow_hold_note(escrow=dispute.escrow, actor=actor, amount=amount, note=note)
    _responded(dispute, actor)
    publish(
        DisputeSettlementProposed, dispute, proposed_by_id=actor.pk, tasker_amount=amount, currency=dispute.currency
    )
    return dispute


def settlement_ruling(dispute: Dispute, tasker_amount: Decimal) -> tuple[str, Decimal | None]:
    """The ruling a settlement amounts to: nothing to the tasker is a refund, everything a release."""
    total = held(dispute.escrow)
    if tasker_amount <= 0:
        return Ruling.REFUND, None
    if tasker_amount >= total:
        return Ruling.RELEASE, None
    return Ruling.SPLIT, total - tasker_amount


def dispute_settlement_accept(*, dispute: Dispute, actor: User, tasker_amount: object = None) -> Dispute:
    """The other party accepts the proposal: it is carried out as a ruling by agreement.
    ``tasker_amount``, when given, must be the amount proposed (a proposal changed meanwhile is
    not accepted unseen)."""
    with transaction.atomic():
        dispute = lock(dispute.pk)
        if not is_party(dispute, actor):
            raise dispute_not_found()
        if dispute.status == S.RESOLVED and dispute.by_agreement:
            return dispute
        _require_active(dispute)
        amount = dispute.settlement_tasker_amount
        if amount is None or dispute.settlement_proposed_by_id is None:
            raise Conflict("There is no proposal to accept.", code="no_settlement_proposed")
        if dispute.settlement_proposed_by_id == actor.pk:
            raise Conflict("The other party accepts your proposal, not you.", code="own_proposal")
        if tasker_amount not in (None, "") and str(tasker_amount) != str(amount):
            raise Conflict("The proposal has changed; read it again.", code="settlement_changed")
        outcome, client_refund = settlement_ruling(dispute, amount)
        record(dispute, DisputeEvent.Kind.SETTLEMENT_ACCEPTED, actor=actor, amount=amount)
        escrow_hold_note(escrow=dispute.escrow, actor=actor, amount=amount, note=f"Dispute #{dispute.pk}: settled")
    currency = dispute.currency
    return _rule(
        dispute=dispute,
        outcome=outcome,
        client_refund=client_refund,
        reason=f"Settled by agreement: {amount} {currency} to the tasker's side.",
        ruled_by=actor,
        approved_by=None,
        by_agreement=True,
    )


@transaction.atomic
def dispute_withdraw(*, dispute: Dispute, actor: User) -> Dispute:
    """The opener withdraws before a ruling: the escrow goes back to funded, with its review window
    restarted if it was running (unless a chargeback still holds it). Withdrawing twice is harmless."""
    dispute = lock(dispute.pk)
    if not is_party(dispute, actor):
        raise dispute_not_found()
    if dispute.status == S.WITHDRAWN:
        return dispute
    if actor.pk != dispute.opened_by_id:
        raise PermissionDenied("Only the party who opened the dispute can withdraw it.", code="not_the_opener")
    _require_active(dispute)
    if dispute.outcome or dispute.proposed_outcome:
        raise Conflict("Support is already ruling on this dispute.", code="dispute_being_ruled")
    record(dispute, DisputeEvent.Kind.WITHDRAWN, actor=actor, from_status=dispute.status, to_status=S.WITHDRAWN)
    dispute.status = S.WITHDRAWN
    dispute.withdrawn_at = timezone.now()
    dispute.save(update_fields=["status", "withdrawn_at", "updated_at"])
    if _open_chargeback(dispute.escrow_id):
        escrow_hold_note(
            escrow=dispute.escrow, actor=actor, note=f"Dispute #{dispute.pk} withdrawn; a chargeback still holds it"
        )
    else:
        escrow_unfreeze(escrow=dispute.escrow, actor=actor, reason=f"Dispute #{dispute.pk} withdrawn")
    publish(DisputeWithdrawn, dispute)
    return dispute


@transaction.atomic
def dispute_escalate(*, dispute: Dispute, actor: User | None, note: str = "") -> Dispute:
    """Into Support's queue (under review): a party asks for Support, or the response deadline passed."""
    dispute = lock(dispute.pk)
    if actor is not None:
        require_party_or_support(dispute, actor)
    if dispute.status == S.UNDER_REVIEW:
        return dispute
    _require_active(dispute)
    record(
        dispute,
        DisputeEvent.Kind.ESCALATED,
        actor=actor,
        note=note or "Sent to Support",
        from_status=dispute.status,
        to_status=S.UNDER_REVIEW,
    )
    dispute.status = S.UNDER_REVIEW
    dispute.escalated_at = timezone.now()
    dispute.save(update_fields=["status", "escalated_at", "updated_at"])
    escrow_hold_note(escrow=dispute.escrow, actor=actor, note=f"Dispute #{dispute.pk}: in Support's queue")
    publish(DisputeEscalated, dispute)
    return dispute


def disputes_escalate_overdue(*, now=None) -> int:
    """Beat job: every dispute still waiting for a party after its ``respond_by`` goes to Support's
    queue. Safe with several workers (rows another one holds are skipped)."""
    now = now or timezone.now()
    moved = 0
    with transaction.atomic():
        due = list(
            Dispute.objects.select_for_update(skip_locked=True)
            .filter(status__in=(S.OPEN, S.AWAITING_RESPONSE), respond_by__lte=now)
            .order_by("respond_by", "pk")[:500]
        )
        for dispute in due:
            dispute_escalate(dispute=dispute, actor=None, note="No response by the deadline: in Support's queue")
            moved += 1
    return moved


@transaction.atomic
def dispute_assign(*, dispute: Dispute, actor: User, assignee: User | None = None) -> Dispute:
    """Support takes a dispute ("assign to me", or to a colleague): it is under review."""
    if not is_support(actor):
        raise dispute_not_found()
    assignee = assignee or actor
    if not is_support(assignee):
        raise ValidationError("Disputes are assigned to Support staff.", code="assignee_invalid")
    dispute = lock(dispute.pk)
    _require_active(dispute)
    if dispute.assignee_id == assignee.pk and dispute.status == S.UNDER_REVIEW:
        return dispute
    record(
        dispute,
        DisputeEvent.Kind.ASSIGNED,
        actor=actor,
        note=f"Assigned to {assignee.email}",
        from_status=dispute.status,
        to_status=S.UNDER_REVIEW,
    )
    dispute.assignee = assignee
    dispute.status = S.UNDER_REVIEW
    dispute.save(update_fields=["assignee", "status", "updated_at"])
    return dispute


@transaction.atomic
def dispute_ask_parties(*, dispute: Dispute, actor: User, body: str) -> DisputeMessage:
    """Support asks the parties something: the dispute awaits their response (for
    ``DISPUTE_RESPONSE_DAYS``; unanswered, it comes back to Support's queue)."""
    if not is_support(actor):
        raise dispute_not_found()
    body = clean_text(body, field="body", label="question")
    dispute = lock(dispute.pk)
    _require_active(dispute)
    message = DisputeMessage.objects.create(dispute=dispute, author=actor, body=body, from_support=True)
    record(
        dispute,
        DisputeEvent.Kind.QUESTION,
        actor=actor,
        note=body[:120],
        from_status=dispute.status,
        to_status=S.AWAITING_RESPONSE,
    )
    dispute.status = S.AWAITING_RESPONSE
    dispute.respond_by = timezone.now() + response_days()
    dispute.save(update_fields=["status", "respond_by", "updated_at"])
    publish(DisputeMessagePosted, dispute, message_id=message.pk, author_id=actor.pk, from_support=True)
    return message


# --- Rulings ---------------------------------------------------------------------------------


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
            _require_active(dispute)
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
            _require_active(dispute)
            if _open_chargeback(dispute.escrow_id):
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

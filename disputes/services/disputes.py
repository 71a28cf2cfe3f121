"""A dispute's parties and Support's queue: open, cancel request, talk, settle, withdraw, escalate, assign.

Lock order: a dispute row, then its escrow (``payments.escrow.holds`` locks the escrow), then the
ledger. Opening locks the escrow first but only inserts the dispute (it locks no dispute row).
A settlement accepted is carried out as a ruling by agreement (``disputes.services.rulings``).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from disputes.events import (
    DisputeEscalated,
    DisputeMessagePosted,
    DisputeOpened,
    DisputeSettlementProposed,
    DisputeWithdrawn,
)
from disputes.models import Dispute, DisputeEvent, DisputeMessage
from disputes.services.common import (
    clean_text,
    dispute_not_found,
    held,
    is_party,
    is_support,
    lock,
    open_chargeback,
    parse_share,
    publish,
    record,
    require_active,
    require_party_or_support,
    response_days,
)
from disputes.services.rulings import _rule
from payments.escrow import Ruling, escrow_freeze, escrow_hold_note, escrow_lock, escrow_unfreeze
from payments.models import Escrow

S = Dispute.Status


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


@transaction.atomic
def dispute_message_post(*, dispute: Dispute, actor: User, body: str) -> DisputeMessage:
    """A message in the dispute's one thread (the parties and Support). The other party's first
    message is their response; a party answering Support's question puts it back under review."""
    require_party_or_support(dispute, actor)
    body = clean_text(body, field="body", label="message")
    dispute = lock(dispute.pk)
    require_active(dispute)
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
    require_active(dispute)
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
        require_active(dispute)
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
    require_active(dispute)
    if dispute.outcome or dispute.proposed_outcome:
        raise Conflict("Support is already ruling on this dispute.", code="dispute_being_ruled")
    record(dispute, DisputeEvent.Kind.WITHDRAWN, actor=actor, from_status=dispute.status, to_status=S.WITHDRAWN)
    dispute.status = S.WITHDRAWN
    dispute.withdrawn_at = timezone.now()
    dispute.save(update_fields=["status", "withdrawn_at", "updated_at"])
    if open_chargeback(dispute.escrow_id):
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
    require_active(dispute)
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
    require_active(dispute)
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
    require_active(dispute)
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

"""Who is told what about disputes and chargebacks: the parties, never the person who acted.

A step a party takes (opening, a message, a file, a proposal, withdrawing) tells the other party;
Support's messages and files, the escalation and the ruling tell both. Chargebacks tell the client
and the tasker of the escrow the card paid for (staff work from the back office). Every dispute
event reloads the dispute page (``dispute:<id>``), the task and escrow parts and the list of
disputes (``disputes``) for both parties.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.urls import reverse

from disputes.events import (
    ChargebackChanged,
    ChargebackClosed,
    ChargebackOpened,
    DisputeChanged,
    DisputeEscalated,
    DisputeEvidenceAdded,
    DisputeMessagePosted,
    DisputeOpened,
    DisputeRuled,
    DisputeSettlementProposed,
    DisputeWithdrawn,
)
from disputes.models import Chargeback, Dispute
from notifications.registry import Notice, notifies, refreshes


def _dispute(event: DisputeChanged) -> Dispute | None:
    return Dispute.objects.select_related("escrow", "escrow__task").filter(pk=event.dispute_id).first()


def _parties(event: DisputeChanged | ChargebackChanged) -> list[tuple[str, int]]:
    return [(role, user_id) for role, user_id in (("client", event.client_id), ("tasker", event.tasker_id)) if user_id]


def _tell(
    event: DisputeChanged, dispute: Dispute, step: str, *, actor_id: int | None = None, **context: Any
) -> Iterator[Notice]:
    """A notice per party but the actor (a member of staff acting is no party: both are told)."""
    for role, user_id in _parties(event):
        if user_id == actor_id:
            continue
        yield Notice(
            recipient_id=user_id,
            dedupe_key=f"dispute:{dispute.pk}:{step}",
            link=reverse("disputes:dispute_detail", args=[dispute.pk]),
            context={
                "dispute": dispute,
                "escrow": dispute.escrow,
                "task": dispute.escrow.task,
                "role": role,
                "by": _who(event, actor_id),
                **context,
            },
        )


def _who(event: DisputeChanged | ChargebackChanged, user_id: int | None) -> str:
    if user_id is None:
        return ""
    if user_id == event.client_id:
        return "client"
    if user_id == event.tasker_id:
        return "tasker"
    return "Support"


@refreshes(DisputeChanged)
def dispute_pages(event: DisputeChanged) -> Iterable[tuple[int, str]]:
    for _, user_id in _parties(event):
        yield user_id, f"dispute:{event.dispute_id}"
        yield user_id, "disputes"
        yield user_id, f"escrow:{event.escrow_id}"
        yield user_id, f"task:{event.task_id}"


@notifies(DisputeOpened, kind="dispute_opened", label="A dispute opened on my task")
def dispute_opened(event: DisputeOpened) -> Iterator[Notice]:
    dispute = _dispute(event)
    if dispute is None:
        return
    yield from _tell(
        event,
        dispute,
        "opened",
        actor_id=event.opened_by_id,
        amount=event.amount_in_question,
        currency=event.currency,
    )


@notifies(DisputeMessagePosted, kind="dispute_message", label="A new message in my dispute")
def dispute_message(event: DisputeMessagePosted) -> Iterator[Notice]:
    dispute = _dispute(event)
    if dispute is None:
        return
    message = dispute.messages.filter(pk=event.message_id).first()
    if message is None:
        return
    yield from _tell(
        event,
        dispute,
        f"message:{event.message_id}",
        actor_id=event.author_id,
        message=message,
        from_support=event.from_support,
    )


@notifies(DisputeEvidenceAdded, kind="dispute_evidence", label="A new file in my dispute")
def dispute_evidence(event: DisputeEvidenceAdded) -> Iterator[Notice]:
    dispute = _dispute(event)
    if dispute is None:
        return
    evidence = dispute.evidence.filter(pk=event.evidence_id).first()
    if evidence is None:
        return
    yield from _tell(event, dispute, f"evidence:{event.evidence_id}", actor_id=event.uploaded_by_id, evidence=evidence)


@notifies(DisputeSettlementProposed, kind="dispute_settlement", label="A settlement proposed to me")
def dispute_settlement(event: DisputeSettlementProposed) -> Iterator[Notice]:
    dispute = _dispute(event)
    if dispute is None:
        return
    yield from _tell(
        event,
        dispute,
        f"settlement:{event.proposed_by_id}:{event.tasker_amount}",
        actor_id=event.proposed_by_id,
        tasker_amount=event.tasker_amount,
        currency=event.currency,
    )


@notifies(DisputeEscalated, kind="dispute_escalated", label="My dispute is with Support")
def dispute_escalated(event: DisputeEscalated) -> Iterator[Notice]:
    dispute = _dispute(event)
    if dispute is None:
        return
    yield from _tell(event, dispute, "escalated")


@notifies(DisputeRuled, kind="dispute_ruled", label="My dispute decided")
def dispute_ruled(event: DisputeRuled) -> Iterator[Notice]:
    dispute = _dispute(event)
    if dispute is None:
        return
    yield from _tell(
        event,
        dispute,
        "ruled",
        outcome=event.outcome,
        outcome_label=Dispute.Outcome(event.outcome).label if event.outcome in Dispute.Outcome.values else "",
        client_refund=event.client_refund,
        by_agreement=event.by_agreement,
    )


@notifies(DisputeWithdrawn, kind="dispute_withdrawn", label="A dispute withdrawn")
def dispute_withdrawn(event: DisputeWithdrawn) -> Iterator[Notice]:
    dispute = _dispute(event)
    if dispute is None:
        return
    yield from _tell(event, dispute, "withdrawn", actor_id=dispute.opened_by_id)


# --- chargebacks ----------------------------------------------------------------------------


@refreshes(ChargebackChanged)
def chargeback_pages(event: ChargebackChanged) -> Iterable[tuple[int, str]]:
    if event.escrow_id is None:
        return
    for _, user_id in _parties(event):
        yield user_id, f"escrow:{event.escrow_id}"
        if event.task_id is not None:
            yield user_id, f"task:{event.task_id}"
        yield user_id, "wallet"


def _chargeback_tell(event: ChargebackChanged, step: str, **context: Any) -> Iterator[Notice]:
    if event.escrow_id is None:
        return  # a payment that was no escrow's: nobody but Finance to tell
    chargeback = Chargeback.objects.select_related("escrow", "escrow__task").filter(pk=event.chargeback_id).first()
    if chargeback is None or chargeback.escrow is None:
        return
    task = chargeback.escrow.task
    for role, user_id in _parties(event):
        yield Notice(
            recipient_id=user_id,
            dedupe_key=f"chargeback:{chargeback.pk}:{step}",
            link=task.get_absolute_url(),
            context={"chargeback": chargeback, "escrow": chargeback.escrow, "task": task, "role": role, **context},
        )


@notifies(ChargebackOpened, kind="chargeback_opened", label="A card payment disputed with the bank")
def chargeback_opened(event: ChargebackOpened) -> Iterator[Notice]:
    yield from _chargeback_tell(event, "opened", amount=event.amount, currency=event.currency)


@notifies(ChargebackClosed, kind="chargeback_closed", label="The bank decided on a card payment")
def chargeback_closed(event: ChargebackClosed) -> Iterator[Notice]:
    yield from _chargeback_tell(event, "closed", won=event.won)

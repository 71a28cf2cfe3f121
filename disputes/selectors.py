"""Reads of disputes and chargebacks: who may see what, queues, timelines."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from disputes.models import Chargeback, Dispute, Evidence
from disputes.services.common import dispute_not_found, is_support
from payments.models import Escrow


def dispute_list_for_user(*, user: User, status: str = "") -> QuerySet[Dispute]:
    """The disputes on escrows the user is a party to, newest first."""
    queryset = (
        Dispute.objects.filter(Q(escrow__client=user) | Q(escrow__tasker=user))
        .select_related("escrow", "escrow__task", "opened_by")
        .order_by("-created_at", "-pk")
    )
    return queryset.filter(status=status) if status else queryset


def dispute_get_for_user(*, dispute_id: int, user: User | AnonymousUser | None) -> Dispute:
    """The dispute if ``user`` is a party or Support; for anyone else ``NotFound`` (as if it did not exist)."""
    if user is None or not user.is_authenticated:
        raise dispute_not_found()
    dispute = (
        Dispute.objects.select_related("escrow", "escrow__task", "opened_by", "assignee").filter(pk=dispute_id).first()
    )
    if dispute is None:
        raise dispute_not_found()
    escrow = dispute.escrow
    if user.pk not in (escrow.client_id, escrow.tasker_id) and not is_support(user):
        raise dispute_not_found()
    return dispute


def dispute_active_for_escrow(*, escrow: Escrow) -> Dispute | None:
    return Dispute.objects.filter(escrow=escrow, status__in=Dispute.ACTIVE).first()


def evidence_get_for_user(*, dispute_id: int, evidence_id: int, user: User | AnonymousUser | None) -> Evidence:
    """An evidence file for download: only the dispute's parties and Support."""
    dispute = dispute_get_for_user(dispute_id=dispute_id, user=user)
    evidence = dispute.evidence.filter(pk=evidence_id).first()
    if evidence is None:
        raise dispute_not_found()
    return evidence


def dispute_role(*, dispute: Dispute, user: User) -> str:
    escrow = dispute.escrow
    if user.pk == escrow.client_id:
        return "client"
    if user.pk == escrow.tasker_id:
        return "tasker"
    return "support"


def dispute_overdue(dispute: Dispute) -> bool:
    return (
        dispute.status in (Dispute.Status.OPEN, Dispute.Status.AWAITING_RESPONSE)
        and dispute.respond_by <= timezone.now()
    )


def dispute_can(*, dispute: Dispute, user: User) -> dict[str, bool]:
    """What the user may do on the dispute page (the services check again)."""
    active = dispute.is_active and not dispute.outcome
    party = user.pk in (dispute.escrow.client_id, dispute.escrow.tasker_id)
    proposal = dispute.settlement_tasker_amount is not None and dispute.settlement_proposed_by_id is not None
    return {
        "message": dispute.is_active,
        "evidence": dispute.is_active,
        "propose": active and party and not dispute.proposed_outcome,
        "accept": active and party and proposal and dispute.settlement_proposed_by_id != user.pk,
        "withdraw": active and user.pk == dispute.opened_by_id and not dispute.proposed_outcome,
        "escalate": party and dispute.status in (Dispute.Status.OPEN, Dispute.Status.AWAITING_RESPONSE),
    }


def chargebacks_open() -> QuerySet[Chargeback]:
    return Chargeback.objects.filter(closed_at__isnull=True)

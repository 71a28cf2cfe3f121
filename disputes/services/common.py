"""What every dispute service shares: who may act, locking, text and amount checks, the timeline."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction

from accounts.models import User
from core import events
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.money import parse_amount
from disputes.events import DisputeChanged
from disputes.models import Chargeback, Dispute, DisputeEvent
from payments.models import Escrow

TEXT_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 500


def dispute_not_found() -> NotFound:
    return NotFound("No such dispute.", code="dispute_not_found")


def is_support(user: User) -> bool:
    """Staff who may act on disputes (the Support group, or a superuser)."""
    return bool(user and user.is_active and user.is_staff and user.has_perm("disputes.change_dispute"))


def can_rule(user: User) -> bool:
    return bool(user and user.is_active and user.is_staff and user.has_perm("disputes.rule_dispute"))


def is_party(dispute: Dispute, user: User) -> bool:
    escrow = dispute.escrow
    return user.pk in (escrow.client_id, escrow.tasker_id)


def require_party_or_support(dispute: Dispute, user: User) -> None:
    """The parties and Support see a dispute; to anyone else it does not exist."""
    if not (is_party(dispute, user) or is_support(user)):
        raise dispute_not_found()


def require_ruler(user: User) -> None:
    if not can_rule(user):
        raise PermissionDenied("Only Support staff may rule on a dispute.", code="ruling_not_allowed")


def lock(dispute_id: int) -> Dispute:
    """Lock the dispute row. Never held while an escrow is locked by the same transaction first:
    the lock order is dispute, then escrow (services that lock both lock the dispute first)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock() needs a transaction")
    return Dispute.objects.select_for_update(of=("self",)).select_related("escrow").get(pk=dispute_id)


def require_active(dispute: Dispute) -> None:
    if not dispute.is_active:
        raise Conflict(f"This dispute is {dispute.get_status_display().lower()}.", code="dispute_closed")


def open_chargeback(escrow_id: int) -> bool:
    return Chargeback.objects.filter(escrow_id=escrow_id, closed_at__isnull=True).exists()


def clean_text(
    value: object, *, field: str, label: str, max_length: int = TEXT_MAX_LENGTH, required: bool = True
) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationError(f"Enter the {label}.", code=f"{field}_required", details={"field": field})
    if len(text) > max_length:
        raise ValidationError(
            f"The {label} can be at most {max_length} characters.", code=f"{field}_too_long", details={"field": field}
        )
    return text


def held(escrow: Escrow) -> Decimal:
    return escrow.client_total - escrow.refunded_amount


def parse_share(value: object, escrow: Escrow, *, field: str, allow_zero: bool) -> Decimal:
    """An amount of the held money: at most what is held; zero only where it means "nothing"."""
    if allow_zero and isinstance(value, str | int | Decimal) and str(value).strip() in ("0", "0.0", "0.00"):
        amount = Decimal("0.00")
    else:
        amount = parse_amount(value, escrow.currency, field=field)
    if amount > held(escrow):
        raise ValidationError(
            f"That is more than the {held(escrow)} {escrow.currency} the escrow holds.",
            code="amount_exceeds_held",
            details={"field": field, "held": str(held(escrow))},
        )
    return amount


def record(
    dispute: Dispute,
    kind: str,
    *,
    actor: User | None,
    note: str = "",
    amount: Decimal | None = None,
    from_status: str = "",
    to_status: str = "",
) -> DisputeEvent:
    return DisputeEvent.objects.create(
        dispute=dispute,
        kind=kind,
        actor=actor,
        note=note[:REASON_MAX_LENGTH],
        amount=amount,
        from_status=from_status,
        to_status=to_status,
    )


def publish(event_type: type[DisputeChanged], dispute: Dispute, **fields) -> None:
    escrow = dispute.escrow
    events.publish(
        event_type(
            dispute_id=dispute.pk,
            escrow_id=escrow.pk,
            task_id=escrow.task_id,
            client_id=escrow.client_id,
            tasker_id=escrow.tasker_id,
            **fields,
        )
    )


def response_days():
    from datetime import timedelta

    return timedelta(days=settings.DISPUTE_RESPONSE_DAYS)

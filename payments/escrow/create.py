"""Creating an escrow when a client accepts an offer, priced with the active fee policy."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from moneyed import Money

from accounts.models import User
from core.errors import ValidationError
from core.money import validate_currency
from payments.escrow.ledger import escrow_account
from payments.escrow.transitions import escrow_event_record
from payments.fees import fee_breakdown
from payments.models import Escrow, EscrowEvent
from payments.services import fee_policy_active


def escrow_amount_check(*, amount: Decimal, currency: str) -> None:
    """Refuse an amount Holdfast could not hold in escrow (also when bidding and posting, so it fails early)."""
    validate_currency(currency)
    if amount < settings.ESCROW_MIN_AMOUNT:
        raise ValidationError(
            f"The smallest amount Holdfast can hold in escrow is {settings.ESCROW_MIN_AMOUNT} {currency}.",
            code="amount_below_minimum",
            details={"minimum": str(settings.ESCROW_MIN_AMOUNT)},
        )
    if amount > settings.ESCROW_MAX_AMOUNT:
        raise ValidationError(
            f"The largest amount Holdfast can hold in escrow is {settings.ESCROW_MAX_AMOUNT} {currency}.",
            code="amount_above_maximum",
            details={"maximum": str(settings.ESCROW_MAX_AMOUNT)},
        )


def escrow_create(*, task_id: int, offer_id: int, client: User, tasker: User, amount: Money, actor: User) -> Escrow:
    """Create the escrow for an accepted offer, priced with the active fee policy.

    Called by ``marketplace.services.offer_accept`` inside its transaction (task and offer
    locked), for the offer's agreed ``amount``. A task may have several escrows (milestones, a
    new offer after an unpaid one expired); each offer has at most one. Refuses amounts outside
    the limits and clients over their daily limit, which makes the accept fail as a whole. A
    second call for the same offer returns the first escrow.
    """
    existing = Escrow.objects.filter(offer_id=offer_id).first()
    if existing is not None:
        return existing
    currency = str(amount.currency)
    amount = amount.amount
    escrow_amount_check(amount=amount, currency=currency)
    # Serialise one client's escrow creations so two accepts cannot both slip under the limit.
    User.objects.select_for_update().filter(pk=client.pk).first()
    since = timezone.now() - timedelta(days=1)
    committed_today = Escrow.objects.filter(client=client, currency=currency, created_at__gte=since).exclude(
        status=Escrow.Status.CANCELLED
    ).aggregate(total=Sum("client_total"))["total"] or Decimal(0)
    policy = fee_policy_active(currency=currency)
    breakdown = fee_breakdown(amount=amount, currency=currency, rules=policy.rules)
    if committed_today + breakdown.client_total > settings.ESCROW_DAILY_LIMIT:
        raise ValidationError(
            f"This would take your escrow payments in the last 24 hours over {settings.ESCROW_DAILY_LIMIT} {currency}. "
            "Try again later or contact support.",
            code="daily_limit_exceeded",
            details={"limit": str(settings.ESCROW_DAILY_LIMIT), "used": str(committed_today)},
        )
    escrow = Escrow.objects.create(
        task_id=task_id,
        offer_id=offer_id,
        client=client,
        tasker=tasker,
        currency=currency,
        amount=breakdown.amount,
        client_fee=breakdown.client_fee,
        commission=breakdown.commission,
        tasker_net=breakdown.tasker_net,
        client_total=breakdown.client_total,
        fee_policy=policy,
        review_window=settings.ESCROW_REVIEW_WINDOW,
    )
    escrow_account(escrow)
    escrow_event_record(
        escrow, EscrowEvent.Kind.CREATED, actor=actor, amount=escrow.client_total, to_status=escrow.status
    )
    return escrow

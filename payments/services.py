"""Writes for payments: Stripe set-up, fee policies, and every money-moving escrow service."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Sum
from django.urls import reverse
from django.utils import timezone
from moneyed import Money

from accounts.models import User
from core import sql
from core.errors import ApplicationError, Conflict, NotFound, ValidationError
from core.money import parse_amount
from marketplace.models import Offer
from payments import stripe_gateway
from payments.fees import fee_breakdown, release_split
from payments.models import Escrow, EscrowEvent, EscrowRefund, FeePolicy

logger = logging.getLogger(__name__)

WEBHOOK_ROLES = {
    # role: (connect?, description, the Stripe CLI secret that overrides the endpoint's own)
    "platform": (False, "Holdfast platform events", "STRIPE_WEBHOOK_SECRET"),
    "connect": (True, "Holdfast Connect events", "STRIPE_CONNECT_WEBHOOK_SECRET"),
}


@dataclass(frozen=True)
class WebhookSetup:
    role: str
    url: str
    created: bool


@transaction.atomic
def stripe_setup(*, site_url: str | None = None) -> list[WebhookSetup]:
    """Make dj-stripe ready for the configured Stripe (emulator, test or live).

    Creates the ``APIKey`` and platform ``Account`` rows, then makes sure the two webhook
    endpoints (platform events and Connect events) exist at Stripe and in dj-stripe's table
    with their signing secrets. Idempotent: an endpoint that still exists is kept as it is.
    """
    from djstripe.models import WebhookEndpoint

    site_url = (site_url or settings.SITE_URL).rstrip("/")
    stripe_gateway.platform_account_sync()
    results = []
    for role, (connect, description, secret_setting) in WEBHOOK_ROLES.items():
        row = (
            WebhookEndpoint.objects.filter(metadata__holdfast_role=role, livemode=settings.STRIPE_LIVE_MODE)
            .order_by("-created")
            .first()
        )
        remote = stripe_gateway.webhook_endpoint_retrieve(row.id) if row else None
        created = False
        if remote is None or not remote["url"].startswith(site_url):
            endpoint_uuid = uuid.uuid4()
            url = site_url + reverse("stripe-webhook", kwargs={"uuid": endpoint_uuid})
            remote = stripe_gateway.webhook_endpoint_create(
                url=url,
                connect=connect,
                description=description,
                metadata={"djstripe_uuid": str(endpoint_uuid), "holdfast_role": role},
            )
            row = stripe_gateway.sync(remote)
            row.secret = remote["secret"]
            created = True
        cli_secret = getattr(settings, secret_setting, "")
        if cli_secret:  # forwarding with `stripe listen`: the CLI signs with its own secret
            row.secret = cli_secret
        row.save()
        results.append(WebhookSetup(role=role, url=row.url, created=created))
        logger.info("Stripe %s webhook endpoint %s: %s", role, "created" if created else "kept", row.url)
    return results


# =============================================================================================
# Escrow
# =============================================================================================
#
# Money path (DESIGN §3): the client's card is charged on the platform account (a PaymentIntent,
# captured at once). ``payment_intent.succeeded`` -> the ledger moves the client total from the
# processor balance into the escrow's account. Release moves it on to the tasker's wallet (net
# of commission) and to platform fee revenue. A refund moves it back out to the processor and
# Stripe returns it to the card. Every movement is one balanced ledger entry with an
# idempotency key derived from the escrow (or refund) id, written in the same transaction as
# the status change, with the escrow row locked.


class EscrowError(Conflict):
    default_code = "escrow_conflict"


def _limits_check(*, amount: Decimal, currency: str) -> None:
    from core.money import validate_currency

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


def escrow_amount_check(*, amount: Decimal, currency: str) -> None:
    """Refuse an amount Holdfast could not hold in escrow (used when bidding too, so it fails early)."""
    _limits_check(amount=amount, currency=currency)


def fee_policy_active(*, currency: str) -> FeePolicy:
    """The active fee policy for ``currency``; version 1 with the default rates is created on first use."""
    policy = FeePolicy.objects.filter(currency=currency, is_active=True).first()
    if policy is not None:
        return policy
    try:
        with transaction.atomic():
            return FeePolicy.objects.create(
                currency=currency,
                version=1,
                client_fee_percent=settings.FEE_DEFAULT_CLIENT_PERCENT,
                commission_percent=settings.FEE_DEFAULT_COMMISSION_PERCENT,
            )
    except IntegrityError:  # created concurrently
        return FeePolicy.objects.get(currency=currency, is_active=True)


@transaction.atomic
def fee_policy_publish(*, currency: str, actor: User | None, **rates: Decimal | None) -> FeePolicy:
    """Make a new version of the currency's fee policy the active one. Existing escrows keep theirs."""
    from core.money import validate_currency

    currency = validate_currency(currency)
    current = FeePolicy.objects.select_for_update().filter(currency=currency, is_active=True).first()
    last_version = FeePolicy.objects.filter(currency=currency).aggregate(v=Max("version"))["v"] or 0
    if current is not None:
        current.is_active = False
        current.save(update_fields=["is_active"])
    policy = FeePolicy(currency=currency, version=last_version + 1, is_active=True, created_by=actor, **rates)
    try:
        policy.full_clean()
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(exc.messages), code="fee_policy_invalid", details=exc.message_dict)
    policy.save()
    return policy


def _event(
    escrow: Escrow,
    kind: str,
    *,
    actor: User | None = None,
    from_status: str = "",
    to_status: str = "",
    amount: Decimal | None = None,
    reason: str = "",
    stripe_event_id: str = "",
) -> EscrowEvent:
    return EscrowEvent.objects.create(
        escrow=escrow,
        kind=kind,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        amount=amount,
        reason=reason[:500],
        stripe_event_id=stripe_event_id,
    )


def _lock(escrow_id: int) -> Escrow:
    return Escrow.objects.select_for_update().get(pk=escrow_id)


def _escrow_account(escrow: Escrow):
    from wallets.services import escrow_account_get_or_create

    return escrow_account_get_or_create(
        escrow=escrow, currency=escrow.currency, client=escrow.client, tasker=escrow.tasker
    )


def _platform(kind: str, currency: str):
    from wallets.services import platform_account

    return platform_account(kind=kind, currency=currency)


def _post_between_processor_and_escrow(
    *, escrow: Escrow, amount: Decimal, into_escrow: bool, key: str, kind: str, actor: User | None, memo: str
) -> None:
    """One balanced entry moving ``amount`` between the processor balance and the escrow's account."""
    from wallets.models import LedgerAccount
    from wallets.services import ledger_post

    signed = amount if into_escrow else -amount
    ledger_post(
        idempotency_key=key,
        kind=kind,
        reference=escrow,
        lines=[
            (_platform(LedgerAccount.Kind.PROCESSOR_BALANCE, escrow.currency), -signed),
            (_escrow_account(escrow), signed),
        ],
        actor=actor,
        memo=memo,
    )


def _require_party(escrow: Escrow, actor: User, *, client_only: bool = False) -> None:
    parties = {escrow.client_id} if client_only else {escrow.client_id, escrow.tasker_id}
    if actor.pk not in parties:
        raise NotFound("No such escrow.", code="escrow_not_found")


def escrow_create(*, offer: Offer, actor: User) -> Escrow:
    """Create the escrow for an accepted offer, priced with the active fee policy.

    Called by ``marketplace.services.offer_accept`` inside its transaction (task and offer
    locked). Refuses amounts outside the limits and clients over their daily limit, which makes
    the accept fail as a whole. A second call for the same offer returns the first escrow.
    """
    existing = Escrow.objects.filter(offer=offer).first()
    if existing is not None:
        return existing
    currency = str(offer.amount.currency)
    amount = offer.amount.amount
    _limits_check(amount=amount, currency=currency)
    task = offer.task
    client = task.client
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
        task=task,
        offer=offer,
        client=client,
        tasker=offer.tasker,
        currency=currency,
        amount=breakdown.amount,
        client_fee=breakdown.client_fee,
        commission=breakdown.commission,
        tasker_net=breakdown.tasker_net,
        client_total=breakdown.client_total,
        fee_policy=policy,
        review_window=settings.ESCROW_REVIEW_WINDOW,
    )
    _escrow_account(escrow)
    _event(escrow, EscrowEvent.Kind.CREATED, actor=actor, to_status=escrow.status, amount=escrow.client_total)
    return escrow


@dataclass(frozen=True)
class Checkout:
    escrow: Escrow
    client_secret: str
    publishable_key: str
    payment_intent_id: str


def escrow_checkout_start(*, escrow: Escrow, actor: User) -> Checkout:
    """Make sure the escrow has its PaymentIntent and return what a browser or app needs to pay.

    Only the client may call it, while the escrow awaits payment. Calling it again returns the
    same PaymentIntent, read back from Stripe (an Idempotency-Key alone would not do: Stripe
    forgets keys after 24 hours, and a second PaymentIntent could charge the client twice). Only
    when that one was cancelled is a new one made, and the escrow then points at the new one.
    """
    _require_party(escrow, actor, client_only=True)
    escrow.refresh_from_db()
    if escrow.status != Escrow.Status.AWAITING_PAYMENT:
        raise EscrowError("This escrow is not waiting for a payment.", code="escrow_not_awaiting_payment")
    previous = escrow.payment_intent_id
    pi = stripe_gateway.payment_intent_retrieve(previous) if previous else None
    if pi is None or pi.status == "canceled":
        pi = stripe_gateway.payment_intent_create(
            amount=escrow.money("client_total"),
            key=stripe_gateway.idempotency_key(
                "escrow", escrow.pk, "payment-intent", *([previous] if previous else [])
            ),
            transfer_group=f"escrow-{escrow.pk}",
            metadata={
                "escrow_id": str(escrow.pk),
                "task_id": str(escrow.task_id),
                "holdfast_namespace": settings.STRIPE_NAMESPACE,
            },
            description=f"Holdfast escrow #{escrow.pk}: {escrow.task.title[:80]}",
        )
    with transaction.atomic():
        locked = _lock(escrow.pk)
        if locked.status != Escrow.Status.AWAITING_PAYMENT:  # cancelled or paid meanwhile
            raise EscrowError("This escrow is not waiting for a payment.", code="escrow_not_awaiting_payment")
        if locked.payment_intent_id != pi.id:
            locked.payment_intent_id = pi.id
            locked.save(update_fields=["payment_intent_id", "updated_at"])
            _event(locked, EscrowEvent.Kind.PAYMENT_STARTED, actor=actor, amount=locked.client_total)
    return Checkout(
        escrow=locked,
        client_secret=pi.client_secret,
        publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
        payment_intent_id=pi.id,
    )


@dataclass(frozen=True)
class PaymentAttempt:
    status: str  # "succeeded" | "requires_action" | "processing"
    redirect_url: str = ""


def escrow_payment_confirm(*, escrow: Escrow, actor: User, payment_method: str, return_url: str) -> PaymentAttempt:
    """Confirm the escrow's PaymentIntent with a payment method (test cards, saved cards).

    A decline is recorded on the escrow (reason shown, retry possible) and raised as
    ``card_declined``. Success is not yet "funded": the escrow is funded when Stripe's
    ``payment_intent.succeeded`` arrives. Each attempt has its own Idempotency-Key, so a
    double-submitted form confirms once.
    """
    checkout = escrow_checkout_start(escrow=escrow, actor=actor)
    with transaction.atomic():
        locked = _lock(escrow.pk)
        locked.payment_attempts += 1
        locked.save(update_fields=["payment_attempts", "updated_at"])
        attempt = locked.payment_attempts
    try:
        pi = stripe_gateway.payment_intent_confirm(
            checkout.payment_intent_id,
            payment_method=payment_method,
            key=stripe_gateway.idempotency_key("escrow", escrow.pk, "confirm", attempt),
            return_url=return_url,
        )
    except stripe_gateway.PaymentError as exc:
        if exc.code == "card_declined":
            escrow_payment_failure_record(
                escrow=escrow,
                message=exc.message,
                code=exc.details.get("decline_code", exc.code),
                charge_id=exc.details.get("charge", ""),
            )
            raise
        # Not a decline (a form sent twice, an unknown payment method, no answer): nothing is
        # recorded against the card; if the payment went through after all, say so.
        try:
            pi = stripe_gateway.payment_intent_retrieve(checkout.payment_intent_id)
        except stripe_gateway.PaymentProviderUnavailable:
            raise stripe_gateway.PaymentProviderUnavailable(
                "The payment service did not answer. If your card was charged, the escrow shows as "
                "funded within minutes; if not, try again then."
            ) from exc
        if pi.status not in ("succeeded", "processing"):
            raise
    if pi.status == "requires_action":
        with transaction.atomic():
            _event(_lock(escrow.pk), EscrowEvent.Kind.PAYMENT_ACTION_REQUIRED, actor=actor)
        return PaymentAttempt(status="requires_action", redirect_url=pi.next_action.redirect_to_url.url)
    if pi.status == "requires_payment_method" and pi.last_payment_error:
        message = pi.last_payment_error.get("message") or "The payment failed."
        escrow_payment_failure_record(
            escrow=escrow,
            message=message,
            code=pi.last_payment_error.get("code", ""),
            charge_id=pi.last_payment_error.get("charge") or "",
        )
        raise stripe_gateway.PaymentError(message, code="card_declined")
    if pi.status == "succeeded":
        with transaction.atomic():
            locked = _lock(escrow.pk)
            locked.last_payment_error = ""
            locked.last_payment_error_code = ""
            locked.save(update_fields=["last_payment_error", "last_payment_error_code", "updated_at"])
    return PaymentAttempt(status=pi.status)


@transaction.atomic
def escrow_payment_failure_record(
    *, escrow: Escrow, message: str, code: str, charge_id: str = "", stripe_event_id: str = ""
) -> Escrow:
    """Remember why the last payment attempt failed, so the checkout page can say so.

    Each declined attempt is one failed charge at Stripe: the confirm call and the
    ``payment_intent.payment_failed`` webhook both report it, and it is recorded once (its
    charge id ends the timeline entry).
    """
    escrow = _lock(escrow.pk)
    if escrow.status != Escrow.Status.AWAITING_PAYMENT:
        return escrow
    failures = escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_FAILED)
    if charge_id and failures.filter(reason__endswith=f"({charge_id})").exists():
        return escrow
    if stripe_event_id and failures.filter(stripe_event_id=stripe_event_id).exists():
        return escrow
    escrow.last_payment_error = message[:500]
    escrow.last_payment_error_code = (code or "")[:64]
    escrow.save(update_fields=["last_payment_error", "last_payment_error_code", "updated_at"])
    reason = f"{message[:400]} ({charge_id})" if charge_id else message
    _event(escrow, EscrowEvent.Kind.PAYMENT_FAILED, reason=reason, stripe_event_id=stripe_event_id)
    return escrow


def escrow_fund_from_stripe(*, payment_intent_id: str, stripe_event_id: str = "") -> Escrow | None:
    """Fund the escrow whose PaymentIntent succeeded. Called by the webhook task.

    The PaymentIntent is re-read from Stripe (the webhook payload is not trusted). Called any
    number of times, in any order with other events, it funds once: the ledger entry's key is
    ``escrow:<id>:funding``. Every successful payment for an escrow ends up either funding it or
    back with the client:

    - a payment for another amount than the escrow's client total, or a second payment for an
      escrow already paid, is returned in full at Stripe (it never entered the ledger);
    - a payment that arrives after the escrow was cancelled funds it in the ledger and is then
      refunded through the usual refund path; each call retries that refund until it is made.
    """
    pi = stripe_gateway.payment_intent_retrieve(payment_intent_id)
    escrow_id = (pi.metadata or {}).get("escrow_id")
    if pi.status != "succeeded" or not escrow_id or not str(escrow_id).isdigit():
        return None
    paid = stripe_gateway.money_from_stripe(pi.amount_received or pi.amount, pi.currency)
    with transaction.atomic():
        escrow = Escrow.objects.select_for_update().filter(pk=escrow_id).first()
        if escrow is None or not (stripe_gateway.ours(pi) or escrow.payment_intent_id == pi.id):
            # Another installation's on the same Stripe account (or made before PaymentIntents
            # were tagged, and not this escrow's): not ours to fund or to return.
            logger.info("PaymentIntent %s (escrow %s) is not this installation's", pi.id, escrow_id)
            return None
        if escrow.funded_at is not None and escrow.payment_intent_id != pi.id:
            returned = "A second payment for an escrow already paid"
        elif paid != escrow.money("client_total"):
            returned = (
                f"Paid {paid.amount} {paid.currency}; the escrow's total is {escrow.client_total} {escrow.currency}"
            )
        else:
            returned = ""
            if escrow.funded_at is None:
                _fund(escrow, pi=pi, stripe_event_id=stripe_event_id)
    if returned:
        logger.error("PaymentIntent %s for escrow %s returned: %s", pi.id, escrow.pk, returned)
        _payment_return(escrow=escrow, pi=pi, amount=paid, reason=returned)
    elif escrow.status == Escrow.Status.CANCELLED and escrow.client_total > escrow.refunded_amount:
        logger.warning("Escrow %s was paid after it was cancelled; refunding", escrow.pk)
        _late_payment_refund(escrow)
    return escrow


def _fund(escrow: Escrow, *, pi, stripe_event_id: str) -> None:
    """Book the payment into the escrow (locked by the caller); a cancelled escrow stays cancelled."""
    from wallets.models import JournalEntry

    _post_between_processor_and_escrow(
        escrow=escrow,
        amount=escrow.client_total,
        into_escrow=True,
        key=f"escrow:{escrow.pk}:funding",
        kind=JournalEntry.Kind.ESCROW_FUNDING,
        actor=None,
        memo=f"Card payment {pi.id}",
    )
    late = escrow.status == Escrow.Status.CANCELLED
    from_status = escrow.status
    escrow.funded_at = timezone.now()
    escrow.payment_intent_id = pi.id
    escrow.charge_id = pi.latest_charge if isinstance(pi.latest_charge, str) else (pi.latest_charge or {}).get("id", "")
    escrow.last_payment_error = ""
    escrow.last_payment_error_code = ""
    if not late:
        escrow.status = Escrow.Status.FUNDED
    escrow.save(
        update_fields=[
            "status",
            "funded_at",
            "payment_intent_id",
            "charge_id",
            "last_payment_error",
            "last_payment_error_code",
            "updated_at",
        ]
    )
    _event(
        escrow,
        EscrowEvent.Kind.FUNDED,
        from_status=from_status,
        to_status=escrow.status,
        amount=escrow.client_total,
        stripe_event_id=stripe_event_id,
    )
    if not late:
        from marketplace.services import task_funded

        task_funded(task_id=escrow.task_id)
        transaction.on_commit(lambda: _notify_funded(escrow.pk))


def _late_payment_refund(escrow: Escrow) -> None:
    try:
        refund = _refund_reserve(escrow=escrow, amount=None, actor=None, reason="Paid after the escrow was cancelled")
    except EscrowError as exc:
        if exc.code != "refund_in_progress":
            raise
        return  # escrow_refunds_settle sees that one through
    try:
        _refund_execute(refund)
    except stripe_gateway.PaymentError as exc:
        if not isinstance(exc, stripe_gateway.PaymentProviderUnavailable):  # no answer: settled later
            _needs_attention(
                escrow, f"Paid after it was cancelled; Stripe refused the refund: {exc.message}", refund.amount
            )
        raise


def _payment_return(*, escrow: Escrow, pi, amount: Money, reason: str) -> None:
    """Give back, in full, a payment that cannot fund the escrow. Keyed by the PaymentIntent, so
    each call asks Stripe once; the timeline says so once."""
    if escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_RETURNED, reason__contains=pi.id).exists():
        return
    try:
        stripe_gateway.refund_create(
            payment_intent_id=pi.id,
            amount=amount,
            key=stripe_gateway.idempotency_key("payment-return", pi.id),
            reason="duplicate",
            metadata={"escrow_id": str(escrow.pk), "returned_payment_intent": pi.id},
        )
    except stripe_gateway.PaymentError as exc:
        if not isinstance(exc, stripe_gateway.PaymentProviderUnavailable):  # no answer: the task retries
            _needs_attention(
                escrow, f"A payment to return could not be refunded: {exc.message} ({pi.id})", amount.amount
            )
        raise
    with transaction.atomic():
        escrow = _lock(escrow.pk)
        if not escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_RETURNED, reason__contains=pi.id).exists():
            _event(escrow, EscrowEvent.Kind.PAYMENT_RETURNED, amount=amount.amount, reason=f"{reason} ({pi.id})")


def _notify_funded(escrow_id: int) -> None:
    escrow = Escrow.objects.select_related("task", "client", "tasker").get(pk=escrow_id)
    link = f"{settings.SITE_URL}/tasks/{escrow.task_id}/"
    send_mail(
        f"Payment held in escrow for “{escrow.task.title}”",
        f"{escrow.client_total} {escrow.currency} is now held by Holdfast for this task. "
        f"The tasker can start; the money is released when you approve the work.\n\n{link}",
        None,
        [escrow.client.email],
    )
    send_mail(
        f"You can start “{escrow.task.title}”",
        f"The client's payment is held in escrow. When you deliver and the client approves, "
        f"{escrow.tasker_net} {escrow.currency} goes to your Holdfast wallet.\n\n{link}",
        None,
        [escrow.tasker.email],
    )


# --- Delivery and the review window ------------------------------------------------------------


def escrow_for_task(task) -> Escrow | None:
    """The task's current escrow (a cancelled one is history, not current)."""
    return Escrow.objects.filter(task=task).exclude(status=Escrow.Status.CANCELLED).order_by("-created_at").first()


def escrow_lock_for_task(*, task) -> Escrow | None:
    """Lock the task's current escrow row, if any. Services that change both lock escrow first, then task."""
    current = escrow_for_task(task)
    return _lock(current.pk) if current is not None else None


def escrow_delivery_record(*, task, actor: User) -> Escrow | None:
    """The tasker delivered: the review window starts; the escrow releases itself when it ends."""
    escrow = escrow_lock_for_task(task=task)
    if escrow is None or escrow.status != Escrow.Status.FUNDED:
        return escrow
    escrow.release_due_at = timezone.now() + escrow.review_window
    escrow.save(update_fields=["release_due_at", "updated_at"])
    _event(
        escrow,
        EscrowEvent.Kind.DELIVERED,
        actor=actor,
        reason=f"Releases automatically on {escrow.release_due_at:%Y-%m-%d %H:%M} UTC",
    )
    return escrow


def escrow_changes_requested_record(*, task, actor: User, reason: str) -> Escrow | None:
    """The client asked for changes: the review window stops until the next delivery."""
    escrow = escrow_lock_for_task(task=task)
    if escrow is None or escrow.status != Escrow.Status.FUNDED:
        return escrow
    escrow.release_due_at = None
    escrow.save(update_fields=["release_due_at", "updated_at"])
    _event(escrow, EscrowEvent.Kind.CHANGES_REQUESTED, actor=actor, reason=reason)
    return escrow


# --- Release ----------------------------------------------------------------------------------


# The release's own statements are SQL, like ledger_post's: the sweeper releases thousands of
# escrows in a row, and building these statements with the ORM cost more Python time than the
# database spent on the whole release (bench/escrow_bench.py prints both side by side).
RELEASE_LOCK_SQL = f"SELECT {sql.columns(Escrow)} FROM payments_escrow WHERE id = %s FOR UPDATE"
# A statement of its own, after the lock: a refund reserved by a transaction the lock waited for
# is visible only to a statement that starts after the wait (a subquery in the locking SELECT
# would still read the snapshot taken before it).
REFUND_PENDING_SQL = "SELECT EXISTS (SELECT 1 FROM payments_escrowrefund WHERE escrow_id = %s AND status = %s)"
RELEASED_SQL = """
WITH released AS (
    UPDATE payments_escrow
       SET status = %(to)s, released_at = %(now)s, released_to_tasker = %(net)s, release_due_at = NULL,
           updated_at = %(now)s
     WHERE id = %(escrow)s
 RETURNING id
)
INSERT INTO payments_escrowevent (escrow_id, kind, actor_id, from_status, to_status, amount, reason,
                                  stripe_event_id, created_at)
SELECT id, %(kind)s, %(actor)s, %(from)s, %(to)s, %(net)s, %(reason)s, '', %(now)s FROM released
"""


@transaction.atomic
def escrow_release(
    *, escrow: Escrow, actor: User | None, reason: str, from_dispute: bool = False, delivered_only: bool = False
) -> Escrow:
    """Pay the tasker: what is held moves to the tasker's wallet (net) and to platform fee revenue.

    Callers: the client approving (``delivered_only=True``: refused unless the work is delivered,
    checked under the lock), the review-window sweeper (``actor=None``), Support forcing a
    release, a dispute ruling (``from_dispute=True``). Exactly once: the row is locked, a released
    escrow is returned as it is, and the ledger key is ``escrow:<id>:release``.

    One round trip per step: lock, whether a refund is pending, the three accounts, the ledger
    post, the escrow and its event, the task and its event. The steps open no savepoints of their
    own: any refusal rolls back the release's own atomic block (a savepoint only when nested, as
    in the sweeper).
    """
    locked = sql.fetch(Escrow, RELEASE_LOCK_SQL, [escrow.pk])
    if not locked:
        raise NotFound("No such escrow.", code="escrow_not_found")
    escrow = locked[0]
    if escrow.status == Escrow.Status.RELEASED:
        return escrow
    allowed = {Escrow.Status.FUNDED} | ({Escrow.Status.DISPUTED} if from_dispute else set())
    if escrow.status not in allowed:
        raise EscrowError(
            "Only an escrow holding the client's payment can be released."
            if escrow.status == Escrow.Status.AWAITING_PAYMENT
            else f"This escrow is {escrow.get_status_display().lower()} and cannot be released.",
            code="escrow_not_funded" if escrow.status == Escrow.Status.AWAITING_PAYMENT else "escrow_not_releasable",
        )
    with connection.cursor() as cursor:
        cursor.execute(REFUND_PENDING_SQL, [escrow.pk, EscrowRefund.Status.PENDING])
        (refund_pending,) = cursor.fetchone()
    if refund_pending:
        raise EscrowError("A refund is being processed; try again in a moment.", code="refund_in_progress")
    if delivered_only and escrow.status == Escrow.Status.FUNDED and escrow.release_due_at is None:
        raise EscrowError("You can approve the work once the tasker has delivered it.", code="escrow_not_delivered")
    held = escrow.client_total - escrow.refunded_amount
    split = release_split(breakdown=escrow.breakdown, refunded=escrow.refunded_amount)
    from wallets.models import JournalEntry, LedgerAccount
    from wallets.services import accounts_get_or_create, ledger_post

    held_in, wallet, revenue = accounts_get_or_create(
        {"kind": LedgerAccount.Kind.ESCROW, "currency": escrow.currency, "owner": escrow},  # made at funding
        {"kind": LedgerAccount.Kind.USER_WALLET, "currency": escrow.currency, "user_id": escrow.tasker_id},
        {"kind": LedgerAccount.Kind.PLATFORM_FEE_REVENUE, "currency": escrow.currency},
    )
    lines = [(held_in, -held), (wallet, split.tasker_net), (revenue, split.platform_revenue)]
    if held:
        ledger_post(
            idempotency_key=f"escrow:{escrow.pk}:release",
            kind=JournalEntry.Kind.ESCROW_RELEASE,
            reference=escrow,
            lines=[(account, amount) for account, amount in lines if amount],
            actor=actor,
            memo=reason,
            savepoint=False,
        )
    from_status, now = escrow.status, timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            RELEASED_SQL,
            {
                "escrow": escrow.pk,
                "kind": EscrowEvent.Kind.RELEASED,
                "actor": actor.pk if actor is not None else None,
                "from": from_status,
                "to": Escrow.Status.RELEASED,
                "net": split.tasker_net,
                "reason": reason[:500],
                "now": now,
            },
        )
    escrow.status, escrow.released_at, escrow.updated_at = Escrow.Status.RELEASED, now, now
    escrow.released_to_tasker, escrow.release_due_at = split.tasker_net, None
    from marketplace.services import task_released

    task_released(task_id=escrow.task_id)
    return escrow


def escrow_approve(*, escrow: Escrow, actor: User) -> Escrow:
    """The client approves the work: release now. Only the client; only once work was delivered."""
    _require_party(escrow, actor, client_only=True)
    return escrow_release(escrow=escrow, actor=actor, reason="Approved by the client", delivered_only=True)


def escrows_release_due(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Release every funded escrow whose review window has ended. Returns how many it released.

    Safe with several workers at once: each batch takes its rows with
    ``SELECT … FOR UPDATE SKIP LOCKED``, so workers share the work instead of queueing on it,
    and a row another worker (or the client's approval) holds is simply skipped.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.ESCROW_RELEASE_BATCH_SIZE
    released = 0
    refused: set[int] = set()  # not taken again in this run, so a stuck batch cannot loop forever
    while True:
        with transaction.atomic():
            due = list(
                Escrow.objects.select_for_update(skip_locked=True)
                .filter(status=Escrow.Status.FUNDED, release_due_at__lte=now)
                .exclude(pk__in=refused)
                .order_by("release_due_at", "pk")[:batch_size]
            )
            for escrow in due:
                try:  # escrow_release is atomic: nested here, a refusal rolls back to its own savepoint
                    escrow_release(escrow=escrow, actor=None, reason="Review window ended with no objection")
                    released += 1
                except ApplicationError as exc:
                    refused.add(escrow.pk)
                    logger.warning("Escrow %s not released by the sweeper: %s", escrow.pk, exc)
        if len(due) < batch_size:
            return released


# --- Refunds ----------------------------------------------------------------------------------


@transaction.atomic
def _refund_reserve(
    *,
    escrow: Escrow,
    amount: Decimal | None,
    actor: User | None,
    reason: str,
    undelivered_only: bool = False,
    stripe_refund_id: str = "",
) -> EscrowRefund:
    """Take the refund out of the escrow in the ledger and record it as pending, before Stripe is asked.

    Reserving first means a release running at the same time sees the smaller held amount,
    so the same money can never be both refunded and paid to the tasker. One refund at a time:
    the outcome of each (full or not) is then known when it settles. ``undelivered_only`` (a
    client cancelling) refuses once the work is delivered, checked under the lock. A cancelled
    escrow that was paid late still holds that payment, and can be refunded.
    """
    escrow = _lock(escrow.pk)
    holding = escrow.status in (Escrow.Status.FUNDED, Escrow.Status.DISPUTED) or (
        escrow.status == Escrow.Status.CANCELLED and escrow.funded_at is not None
    )
    if not holding:
        raise EscrowError(
            "Only an escrow holding the client's payment can be refunded.",
            code="escrow_not_funded" if escrow.status == Escrow.Status.AWAITING_PAYMENT else "escrow_not_refundable",
        )
    if escrow.refunds.filter(status=EscrowRefund.Status.PENDING).exists():
        raise EscrowError("A refund is being processed; try again in a moment.", code="refund_in_progress")
    if undelivered_only and escrow.release_due_at is not None:
        raise EscrowError("The work was delivered: approve it or ask for changes instead.", code="escrow_delivered")
    held = escrow.client_total - escrow.refunded_amount
    amount = held if amount is None else parse_amount(amount, escrow.currency)
    if amount <= 0:
        raise ValidationError("The refund must be more than zero.", code="amount_not_positive")
    if amount > held:
        raise ValidationError(
            f"At most {held} {escrow.currency} can be refunded from this escrow.",
            code="refund_exceeds_held",
            details={"held": str(held)},
        )
    refund = EscrowRefund.objects.create(
        escrow=escrow, amount=amount, reason=reason[:500] or "Refund", actor=actor, stripe_refund_id=stripe_refund_id
    )
    from wallets.models import JournalEntry

    _post_between_processor_and_escrow(
        escrow=escrow,
        amount=amount,
        into_escrow=False,
        key=f"escrow-refund:{refund.pk}",
        kind=JournalEntry.Kind.ESCROW_REFUND,
        actor=actor,
        memo=reason,
    )
    escrow.refunded_amount += amount
    escrow.save(update_fields=["refunded_amount", "updated_at"])
    return refund


def _refund_execute(refund: EscrowRefund) -> EscrowRefund:
    """Ask Stripe for the reserved refund (same Idempotency-Key on every try) and settle it."""
    escrow = refund.escrow
    try:
        stripe_refund = stripe_gateway.refund_create(
            payment_intent_id=escrow.payment_intent_id,
            amount=Money(refund.amount, escrow.currency),
            key=stripe_gateway.idempotency_key("escrow-refund", refund.pk),
            metadata={
                "escrow_id": str(escrow.pk),
                "escrow_refund_id": str(refund.pk),
                "holdfast_namespace": settings.STRIPE_NAMESPACE,
            },
        )
    except stripe_gateway.PaymentProviderUnavailable:
        # No answer: Stripe may or may not have made it. The refund stays pending, and keeps the
        # money out of any release, until escrow_refunds_settle learns the outcome from Stripe.
        logger.warning("Refund %s of escrow %s: no answer from Stripe; settled later", refund.pk, escrow.pk)
        raise stripe_gateway.PaymentProviderUnavailable(
            "The payment service did not answer. The refund is recorded and will be completed automatically.",
            code="refund_pending",
        )
    except stripe_gateway.PaymentError as exc:
        _refund_fail(refund=refund, message=exc.message)
        raise
    return _refund_settle(refund=refund, stripe_refund=stripe_refund)


def _refund_settle(*, refund: EscrowRefund, stripe_refund, stripe_event_id: str = "") -> EscrowRefund:
    """Record what Stripe says of a refund: succeeded, failed (money back in the escrow) or not yet."""
    if stripe_refund.status == "succeeded":
        return _refund_complete(refund=refund, stripe_refund_id=stripe_refund.id, stripe_event_id=stripe_event_id)
    if stripe_refund.status in ("failed", "canceled"):
        reason = getattr(stripe_refund, "failure_reason", None) or stripe_refund.status
        _refund_fail(refund=refund, message=f"Stripe reports the refund {stripe_refund.status} ({reason}).")
    else:  # pending, requires_action: Stripe's later word settles it
        EscrowRefund.objects.filter(pk=refund.pk, status=EscrowRefund.Status.PENDING).update(
            stripe_refund_id=stripe_refund.id
        )
    refund.refresh_from_db()
    return refund


@transaction.atomic
def _refund_complete(*, refund: EscrowRefund, stripe_refund_id: str, stripe_event_id: str = "") -> EscrowRefund:
    escrow = _lock(refund.escrow_id)
    refund = EscrowRefund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != EscrowRefund.Status.PENDING:
        return refund  # settled already (a failed one's money is back in the escrow)
    refund.status = EscrowRefund.Status.SUCCEEDED
    refund.stripe_refund_id = stripe_refund_id
    refund.completed_at = timezone.now()
    refund.save()
    from_status = escrow.status
    full = escrow.refunded_amount >= escrow.client_total
    if full and escrow.status in (Escrow.Status.FUNDED, Escrow.Status.DISPUTED):
        escrow.status = Escrow.Status.REFUNDED
        escrow.refunded_at = refund.completed_at
        escrow.release_due_at = None
        escrow.save(update_fields=["status", "refunded_at", "release_due_at", "updated_at"])
        from marketplace.services import task_refunded

        task_refunded(task_id=escrow.task_id)
    _event(
        escrow,
        EscrowEvent.Kind.REFUNDED if full else EscrowEvent.Kind.PARTIALLY_REFUNDED,
        actor=refund.actor,
        from_status=from_status,
        to_status=escrow.status,
        amount=refund.amount,
        reason=refund.reason,
        stripe_event_id=stripe_event_id,
    )
    return refund


@transaction.atomic
def _refund_fail(*, refund: EscrowRefund, message: str) -> None:
    """Stripe refused the refund, or reports it failed: put the money back into the escrow, visibly."""
    escrow = _lock(refund.escrow_id)
    refund = EscrowRefund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != EscrowRefund.Status.PENDING:
        return
    from wallets.models import JournalEntry

    _post_between_processor_and_escrow(
        escrow=escrow,
        amount=refund.amount,
        into_escrow=True,
        key=f"escrow-refund:{refund.pk}:reversal",
        kind=JournalEntry.Kind.ESCROW_REFUND,
        actor=None,
        memo=f"Refund failed: {message}",
    )
    escrow.refunded_amount -= refund.amount
    escrow.save(update_fields=["refunded_amount", "updated_at"])
    refund.status = EscrowRefund.Status.FAILED
    refund.failure_message = message[:500]
    refund.completed_at = timezone.now()
    refund.save()


def escrow_refund(
    *, escrow: Escrow, amount: Decimal | None, actor: User | None, reason: str, undelivered_only: bool = False
) -> EscrowRefund:
    """Refund the client, in full (``amount=None``) or in part, through Stripe and the ledger.

    For Finance (admin) and for a client cancelling before delivery. The refund row is created
    first and its id keys both the Stripe refund and the ledger entry, so a retry refunds once.
    A full refund ends the escrow (``refunded``) and cancels the task; after a partial one the
    escrow stays funded and a later release pays the tasker on what is left (see
    ``payments.fees.release_split`` for how the fees are unwound).
    """
    if not reason.strip():
        raise ValidationError("Give a reason for the refund.", code="reason_required")
    refund = _refund_reserve(
        escrow=escrow, amount=amount, actor=actor, reason=reason, undelivered_only=undelivered_only
    )
    return _refund_execute(refund)


def refunds_settle_from_stripe(*, charge_id: str, stripe_event_id: str = "") -> int:
    """``charge.refunded`` / ``charge.refund.updated``: bring the escrow in line with the charge's refunds.

    Stripe's refunds are re-read (the payload is not trusted). Holdfast's own pending refunds
    of this charge are settled first; then a refund made outside Holdfast (in the Stripe
    Dashboard) is taken into the escrow and the ledger like any refund, so a later release
    cannot pay out money that went back to the client. Returns how many were settled or taken in.
    """
    stripe_refunds = stripe_gateway.refunds_for_charge(charge_id)
    settled = 0
    for stripe_refund in stripe_refunds:
        refund_id = (stripe_refund.metadata or {}).get("escrow_refund_id")
        refund = (
            EscrowRefund.objects.filter(pk=refund_id, escrow__charge_id=charge_id).first()
            if refund_id and str(refund_id).isdigit()
            else None
        )
        if refund is not None and refund.status == EscrowRefund.Status.PENDING:
            refund = _refund_settle(refund=refund, stripe_refund=stripe_refund, stripe_event_id=stripe_event_id)
            settled += refund.status != EscrowRefund.Status.PENDING
        elif refund is not None and refund.status == EscrowRefund.Status.SUCCEEDED and stripe_refund.status == "failed":
            _needs_attention(
                refund.escrow,
                f"Stripe now reports refund {stripe_refund.id} failed; Holdfast booked it as made",
                amount=refund.amount,
            )
    for stripe_refund in stripe_refunds:
        if not (stripe_refund.metadata or {}).get("escrow_refund_id"):
            settled += _refund_adopt(charge_id=charge_id, stripe_refund=stripe_refund, stripe_event_id=stripe_event_id)
    return settled


def _refund_adopt(*, charge_id: str, stripe_refund, stripe_event_id: str) -> bool:
    """Record a succeeded refund Holdfast did not ask for, in one transaction (found, reserved and
    completed under the escrow's lock, so it is taken in once). Whether it was taken in now."""
    escrow = Escrow.objects.filter(charge_id=charge_id).first()
    if escrow is None or stripe_refund.status != "succeeded":
        return False
    amount = stripe_gateway.money_from_stripe(stripe_refund.amount, stripe_refund.currency)
    try:
        with transaction.atomic():
            _lock(escrow.pk)
            if EscrowRefund.objects.filter(stripe_refund_id=stripe_refund.id).exists():
                return False
            refund = _refund_reserve(
                escrow=escrow,
                amount=amount.amount,
                actor=None,
                reason=f"Refunded at Stripe ({stripe_refund.id})",
                stripe_refund_id=stripe_refund.id,
            )
            _refund_complete(refund=refund, stripe_refund_id=stripe_refund.id, stripe_event_id=stripe_event_id)
    except ApplicationError as exc:
        if exc.code == "refund_in_progress":
            return False  # taken in once ours settles: the settle job and the next event try again
        logger.error("Refund %s made at Stripe for escrow %s not taken in: %s", stripe_refund.id, escrow.pk, exc)
        _needs_attention(
            escrow,
            f"Refunded at Stripe outside Holdfast, not matched: {exc.message} ({stripe_refund.id})",
            amount.amount,
        )
        return False
    return True


def _needs_attention(escrow: Escrow, note: str, amount: Decimal | None = None) -> None:
    """Put something only a person can sort out on the escrow's timeline, once."""
    with transaction.atomic():
        locked = _lock(escrow.pk)
        if not locked.events.filter(kind=EscrowEvent.Kind.NEEDS_ATTENTION, reason=note[:500]).exists():
            _event(locked, EscrowEvent.Kind.NEEDS_ATTENTION, amount=amount, reason=note)


def escrow_refunds_settle(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Settle refunds still pending a while after they were asked for (Stripe did not answer, or
    answered "pending"). For each charge concerned, Stripe's refunds are read back and settled
    (and any made outside Holdfast taken in); a refund of ours Stripe never received is asked for
    again with the same Idempotency-Key, and the charge read back once more. Run by beat.
    Returns how many refunds were settled or taken in."""
    pending = EscrowRefund.objects.filter(
        status=EscrowRefund.Status.PENDING, created_at__lte=timezone.now() - older_than
    ).select_related("escrow")
    settled = 0
    for charge_id in sorted({r.escrow.charge_id for r in pending if r.escrow.charge_id}):
        try:
            settled += refunds_settle_from_stripe(charge_id=charge_id)
            never_made = EscrowRefund.objects.filter(
                escrow__charge_id=charge_id, status=EscrowRefund.Status.PENDING, stripe_refund_id=""
            ).select_related("escrow")
            for refund in never_made:
                try:
                    settled += _refund_execute(refund).status != EscrowRefund.Status.PENDING  # same key
                except ApplicationError as exc:
                    logger.warning("Refund %s: %s", refund.pk, exc)
                    refund.refresh_from_db()
                    settled += refund.status != EscrowRefund.Status.PENDING
            if never_made:  # asked again: read the charge back, to take in what waited on them
                settled += refunds_settle_from_stripe(charge_id=charge_id)
        except ApplicationError as exc:
            logger.warning("Refunds of charge %s not settled yet: %s", charge_id, exc)
    return settled


# --- Cancelling and expiring --------------------------------------------------------------------


def escrow_cancel(*, escrow: Escrow, actor: User | None, reason: str, unpaid_only: bool = False) -> Escrow:
    """Cancel: an unpaid escrow is closed (its PaymentIntent cancelled); a funded one before delivery
    is refunded in full. Only the client (or the system, ``actor=None``). ``unpaid_only`` (the
    expiry sweeper) leaves an escrow that has been paid meanwhile as it is."""
    if actor is not None:
        _require_party(escrow, actor, client_only=True)
    escrow.refresh_from_db()
    if escrow.status == Escrow.Status.CANCELLED or (unpaid_only and escrow.status != Escrow.Status.AWAITING_PAYMENT):
        return escrow
    if escrow.status == Escrow.Status.FUNDED:
        escrow_refund(
            escrow=escrow,
            amount=None,
            actor=actor,
            reason=reason or "Cancelled by the client before delivery",
            undelivered_only=True,
        )
        escrow.refresh_from_db()
        return escrow
    if escrow.status != Escrow.Status.AWAITING_PAYMENT:
        raise EscrowError(
            f"This escrow is {escrow.get_status_display().lower()} and cannot be cancelled.",
            code="escrow_not_cancellable",
        )
    if escrow.payment_intent_id:
        pi = stripe_gateway.payment_intent_retrieve(escrow.payment_intent_id)
        if pi.status == "succeeded":
            funded = escrow_fund_from_stripe(payment_intent_id=pi.id)
            if funded is not None and funded.status == Escrow.Status.FUNDED:
                raise EscrowError(
                    "The payment has just gone through, so the escrow is funded. Cancel again to get a full refund.",
                    code="escrow_just_funded",
                )
        elif pi.status != "canceled":
            stripe_gateway.payment_intent_cancel(
                pi.id, key=stripe_gateway.idempotency_key("escrow", escrow.pk, "cancel", pi.id)
            )
    with transaction.atomic():
        escrow = _lock(escrow.pk)
        if escrow.status != Escrow.Status.AWAITING_PAYMENT:
            return escrow
        escrow.status = Escrow.Status.CANCELLED
        escrow.cancelled_at = timezone.now()
        escrow.save(update_fields=["status", "cancelled_at", "updated_at"])
        _event(
            escrow,
            EscrowEvent.Kind.CANCELLED,
            actor=actor,
            from_status=Escrow.Status.AWAITING_PAYMENT,
            to_status=escrow.status,
            reason=reason,
        )
    return escrow


def escrows_expire_unfunded(*, now: datetime | None = None) -> int:
    """Cancel escrows still unpaid after ``ESCROW_PAYMENT_EXPIRY``; their tasks reopen for offers."""
    now = now or timezone.now()
    expired = 0
    for escrow in Escrow.objects.filter(
        status=Escrow.Status.AWAITING_PAYMENT, created_at__lte=now - settings.ESCROW_PAYMENT_EXPIRY
    ):
        try:
            escrow = escrow_cancel(escrow=escrow, actor=None, reason="Not paid in time", unpaid_only=True)
            if escrow.status != Escrow.Status.CANCELLED:
                continue  # paid meanwhile
            from marketplace.services import task_payment_expired

            task_payment_expired(task_id=escrow.task_id)
            expired += 1
        except ApplicationError as exc:
            logger.info("Escrow %s not expired: %s", escrow.pk, exc)
    return expired


def escrows_payment_reconcile(*, quiet_for: timedelta = timedelta(minutes=10)) -> int:
    """Fund escrows whose payment succeeded but whose webhook never came (lost, or an endpoint
    that was down past Stripe's retries): every escrow still awaiting payment with a checkout
    opened in the last two days and quiet for ``quiet_for`` is checked against its
    PaymentIntent. Run by beat; the expiry sweeper does the same check before it cancels. Returns how many it funded."""
    funded = 0
    now = timezone.now()
    waiting = Escrow.objects.filter(
        status=Escrow.Status.AWAITING_PAYMENT,
        updated_at__lte=now - quiet_for,
        updated_at__gte=now - timedelta(days=2),  # older ones: the expiry sweeper checks them
    ).exclude(payment_intent_id="")
    for escrow in waiting:
        try:
            pi = stripe_gateway.payment_intent_retrieve(escrow.payment_intent_id)
            if pi.status == "succeeded":
                escrow = escrow_fund_from_stripe(payment_intent_id=pi.id)
                funded += escrow is not None and escrow.status == Escrow.Status.FUNDED
        except ApplicationError as exc:
            logger.warning("Escrow %s: payment not checked: %s", escrow.pk, exc)
    return funded


def escrows_flag_stale(*, now: datetime | None = None) -> int:
    """Flag to Support escrows funded longer than ``ESCROW_STALE_AFTER`` with no delivery."""
    now = now or timezone.now()
    flagged = 0
    stale = Escrow.objects.filter(
        status=Escrow.Status.FUNDED,
        funded_at__lte=now - settings.ESCROW_STALE_AFTER,
        release_due_at__isnull=True,
        stale_flagged_at__isnull=True,
    )
    for escrow in stale:
        with transaction.atomic():
            escrow = _lock(escrow.pk)
            if escrow.stale_flagged_at is None:
                escrow.stale_flagged_at = now
                escrow.save(update_fields=["stale_flagged_at", "updated_at"])
                _event(escrow, EscrowEvent.Kind.STALE_FLAGGED, reason="Funded for a long time with no delivery")
                flagged += 1
    return flagged


def escrow_payment_failure_from_stripe(*, payment_intent_id: str, stripe_event_id: str = "") -> Escrow | None:
    """``payment_intent.payment_failed``: re-read the PaymentIntent and record why it failed."""
    pi = stripe_gateway.payment_intent_retrieve(payment_intent_id)
    escrow_id = (pi.metadata or {}).get("escrow_id")
    escrow = Escrow.objects.filter(pk=escrow_id).first() if escrow_id and str(escrow_id).isdigit() else None
    if escrow is not None and not (stripe_gateway.ours(pi) or escrow.payment_intent_id == pi.id):
        escrow = None  # another installation's on the same Stripe account
    if escrow is None or pi.status == "succeeded" or not pi.last_payment_error:
        return escrow
    error = pi.last_payment_error
    code = error.get("decline_code") or error.get("code") or ""
    return escrow_payment_failure_record(
        escrow=escrow,
        message=stripe_gateway.decline_message(code, error.get("message")),
        code=code,
        charge_id=error.get("charge") or "",
        stripe_event_id=stripe_event_id,
    )

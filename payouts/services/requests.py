"""The requesting stage of a payout: fee, arrival estimate, approvals needed, the ready account, the request."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.events import publish
from core.money import format_money, parse_amount, quantize, validate_currency
from payouts.errors import PayoutError, PayoutInputError
from payouts.events import PayoutRequested
from payouts.models import Payout, PayoutAccount, PayoutEvent
from payouts.services.ledger import _allocate_sources, _post_taken
from payouts.services.lifecycle import K, S, _enqueue_execute, _transition, event_fields
from wallets.selectors import account_balance, wallet_account_find


def payout_fee(currency: str) -> Decimal:
    return quantize(settings.PAYOUT_FEE, currency)


def payout_arrival_estimate(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(days=settings.PAYOUT_ARRIVAL_DAYS)


def _approvals_required(*, tasker: User, amount: Decimal) -> int:
    if amount > settings.PAYOUT_SECOND_APPROVAL_THRESHOLD:
        return 2
    if amount > settings.PAYOUT_APPROVAL_THRESHOLD:
        return 1
    if settings.PAYOUT_FIRST_NEEDS_APPROVAL and not Payout.objects.filter(tasker=tasker, status=S.PAID).exists():
        return 1  # a tasker's first payout: Finance looks at it once
    return 0


def payout_account_ready(*, tasker: User) -> PayoutAccount:
    account = PayoutAccount.objects.filter(user=tasker).first()
    if account is None:
        raise PayoutError(
            "Set up your payout account first (Get paid → Set up payouts with Stripe).", code="payout_account_missing"
        )
    if not account.can_receive_payouts:
        raise PayoutError(
            "Stripe cannot pay out to your account yet: finish the details it still needs on the Get paid page.",
            code="payout_account_not_ready",
            details={"requirements_due": list(account.requirements_due)},
        )
    return account


@transaction.atomic
def payout_request(
    *,
    tasker: User,
    amount: Decimal | str | int,
    currency: str,
    actor: User | None = None,
    scheduled: bool = False,
) -> Payout:
    """Request a payout of ``amount`` from the tasker's available balance in ``currency``.

    Refused (nothing moves) below ``PAYOUT_MIN_AMOUNT``, above the available balance, in a
    currency the bank account does not take, or before the payout account is ready. The amount
    leaves the available balance at once (ledger: wallet → payouts in transit), so two requests at
    the same moment cannot spend it twice (the ledger locks the wallet row; the second is refused
    with ``insufficient_funds``). Goes straight to processing unless Finance must approve it.
    """
    currency = validate_currency(currency)
    amount = parse_amount(amount, currency)
    account = payout_account_ready(tasker=tasker)
    if account.bank_currency and account.bank_currency != currency:
        raise PayoutInputError(
            f"Your bank account receives {account.bank_currency}; a payout in {currency} cannot be sent to it.",
            code="payout_currency_not_supported",
            details={"field": "currency", "bank_currency": account.bank_currency},
        )
    minimum = quantize(settings.PAYOUT_MIN_AMOUNT, currency)
    if amount < minimum:
        raise PayoutInputError(
            f"The smallest payout is {format_money(minimum, currency)}.",
            code="payout_below_minimum",
            details={"field": "amount", "minimum": str(minimum)},
        )
    fee = payout_fee(currency)
    if amount <= fee:
        raise PayoutInputError(
            f"The payout must be more than its fee of {format_money(fee, currency)}.",
            code="payout_below_fee",
            details={"field": "amount", "fee": str(fee)},
        )
    wallet = wallet_account_find(user=tasker, currency=currency)
    available = account_balance(account=wallet) if wallet else Decimal("0")
    if amount > available:
        raise PayoutInputError(
            f"You can pay out at most {format_money(available, currency)}: that is your available balance.",
            code="insufficient_funds",
            details={"field": "amount", "available": str(available)},
        )
    approvals = _approvals_required(tasker=tasker, amount=amount)
    now = timezone.now()
    payout = Payout.objects.create(
        tasker=tasker,
        account=account,
        currency=currency,
        amount=amount,
        fee=fee,
        net=amount - fee,
        status=S.REQUESTED,
        scheduled=scheduled,
        approvals_required=approvals,
        arrival_estimate=payout_arrival_estimate(now),
    )
    _post_taken(payout, actor or tasker)  # InsufficientFunds here: a concurrent request won the race
    _allocate_sources(payout, wallet)
    PayoutEvent.objects.create(
        payout=payout,
        kind=K.REQUESTED,
        to_status=S.REQUESTED,
        actor=actor if actor is not None else (None if scheduled else tasker),
        reason=("By the payout schedule. " if scheduled else "")
        + (f"Needs {approvals} approval(s) by Finance." if approvals else ""),
    )
    publish(PayoutRequested(**event_fields(payout), needs_approval=bool(approvals), scheduled=scheduled))
    if not approvals:
        _transition(payout, to=S.PROCESSING, kind=K.PROCESSING, actor=None, fields={"processing_at": now})
        _enqueue_execute(payout)
    return payout

"""Fee arithmetic: what the client pays on top, what the tasker gives up, what the platform keeps.

Pure functions over ``Decimal`` so they can be checked exhaustively by property tests. Every
fee is rounded half-up to the currency's minor unit and clamped to its policy's min/max; by
construction ``client_total == tasker_net + platform_revenue`` to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.money import quantize

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class FeeRules:
    """The numbers of a fee policy (see ``payments.models.FeePolicy``)."""

    client_fee_percent: Decimal
    client_fee_fixed: Decimal = Decimal(0)
    client_fee_min: Decimal = Decimal(0)
    client_fee_max: Decimal | None = None
    commission_percent: Decimal = Decimal(0)
    commission_min: Decimal = Decimal(0)
    commission_max: Decimal | None = None


@dataclass(frozen=True)
class FeeBreakdown:
    currency: str
    amount: Decimal  # the agreed price of the work (the accepted offer)
    client_fee: Decimal  # service fee the client pays on top
    commission: Decimal  # deducted from the amount, kept by the platform
    client_total: Decimal  # what the card is charged: amount + client_fee
    tasker_net: Decimal  # what the tasker's wallet receives: amount - commission
    platform_revenue: Decimal  # client_fee + commission


def _clamp(value: Decimal, low: Decimal, high: Decimal | None) -> Decimal:
    value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value


def fee_breakdown(*, amount: Decimal, currency: str, rules: FeeRules) -> FeeBreakdown:
    amount = quantize(amount, currency)
    client_fee = quantize(amount * rules.client_fee_percent / HUNDRED + rules.client_fee_fixed, currency)
    client_fee = quantize(_clamp(client_fee, rules.client_fee_min, rules.client_fee_max), currency)
    commission = quantize(amount * rules.commission_percent / HUNDRED, currency)
    commission = quantize(_clamp(commission, rules.commission_min, rules.commission_max), currency)
    # A commission larger than the work itself would leave the tasker owing money.
    commission = min(commission, amount)
    return FeeBreakdown(
        currency=currency,
        amount=amount,
        client_fee=client_fee,
        commission=commission,
        client_total=amount + client_fee,
        tasker_net=amount - commission,
        platform_revenue=client_fee + commission,
    )


@dataclass(frozen=True)
class ReleaseSplit:
    tasker_net: Decimal
    platform_revenue: Decimal


def release_split(*, breakdown: FeeBreakdown, refunded: Decimal) -> ReleaseSplit:
    """How what is still held is divided at release, after ``refunded`` went back to the client.

    The rule (proportional unwinding): a refund is taken from the client fee and the work
    amount in the proportion they make up the client total. The commission shrinks in
    proportion to the work amount that remains. So a 50 % refund halves the client fee, the
    amount, the commission and the tasker's net (each rounded half-up to the minor unit); the
    platform takes whatever rounding leaves, so the two parts always add up to what is held.
    """
    currency = breakdown.currency
    held = breakdown.client_total - refunded
    if held <= 0:
        return ReleaseSplit(tasker_net=Decimal(0), platform_revenue=Decimal(0))
    refunded_fee = quantize(breakdown.client_fee * refunded / breakdown.client_total, currency)
    amount_left = breakdown.amount - (refunded - refunded_fee)
    commission_left = (
        quantize(breakdown.commission * amount_left / breakdown.amount, currency) if breakdown.amount else 0
    )
    tasker_net = max(amount_left - commission_left, Decimal(0))
    tasker_net = min(tasker_net, held)
    return ReleaseSplit(tasker_net=tasker_net, platform_revenue=held - tasker_net)

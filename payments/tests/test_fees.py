from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import minor_unit, quantize
from payments.fees import FeeRules, fee_breakdown, release_split

CURRENCIES = st.sampled_from(["USD", "EUR", "GBP", "JPY"])
PERCENT = st.decimals(min_value=0, max_value=50, places=2)
SMALL = st.decimals(min_value=0, max_value=20, places=2)


@st.composite
def rules(draw):
    fee_min = draw(SMALL)
    fee_max = draw(st.none() | st.decimals(min_value=0, max_value=500, places=2).map(lambda m: m + fee_min))
    com_min = draw(SMALL)
    com_max = draw(st.none() | st.decimals(min_value=0, max_value=2000, places=2).map(lambda m: m + com_min))
    return FeeRules(
        client_fee_percent=draw(PERCENT),
        client_fee_fixed=draw(SMALL),
        client_fee_min=fee_min,
        client_fee_max=fee_max,
        commission_percent=draw(PERCENT),
        commission_min=com_min,
        commission_max=com_max,
    )


@st.composite
def amounts(draw, currency):
    cents = draw(st.integers(min_value=1, max_value=1_000_000_00))
    return max(quantize(Decimal(cents) / 100, currency), minor_unit(currency))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), currency=CURRENCIES, policy=rules())
def test_breakdown_adds_up_and_respects_limits(data, currency, policy):
    amount = data.draw(amounts(currency))
    b = fee_breakdown(amount=amount, currency=currency, rules=policy)
    assert b.client_total == b.tasker_net + b.platform_revenue
    assert b.client_total == b.amount + b.client_fee
    for value in (b.amount, b.client_fee, b.commission, b.client_total, b.tasker_net, b.platform_revenue):
        assert value == quantize(value, currency), "every amount is whole minor units"
        assert value >= 0
    if policy.client_fee_max is not None:
        assert b.client_fee <= quantize(policy.client_fee_max, currency)
    assert b.client_fee >= min(
        quantize(policy.client_fee_min, currency), quantize(policy.client_fee_max or b.client_fee, currency)
    )
    assert b.commission <= b.amount
    if policy.commission_max is not None:
        assert b.commission <= quantize(policy.commission_max, currency)


def test_default_policy_example():
    b = fee_breakdown(
        amount=Decimal("100.00"),
        currency="USD",
        rules=FeeRules(client_fee_percent=Decimal(5), commission_percent=Decimal(20)),
    )
    assert (b.client_fee, b.commission, b.client_total, b.tasker_net, b.platform_revenue) == (
        Decimal("5.00"),
        Decimal("20.00"),
        Decimal("105.00"),
        Decimal("80.00"),
        Decimal("25.00"),
    )


def test_rounding_is_half_up_to_the_cent():
    b = fee_breakdown(amount=Decimal("10.10"), currency="USD", rules=FeeRules(client_fee_percent=Decimal(5)))
    assert b.client_fee == Decimal("0.51")  # 0.505 rounds up
    yen = fee_breakdown(amount=Decimal("1010"), currency="JPY", rules=FeeRules(client_fee_percent=Decimal(5)))
    assert yen.client_fee == Decimal("51")  # 50.5 yen rounds up to a whole yen


@settings(max_examples=300, deadline=None)
@given(data=st.data(), currency=CURRENCIES, policy=rules())
def test_release_after_refund_pays_out_exactly_what_is_held(data, currency, policy):
    amount = data.draw(amounts(currency))
    b = fee_breakdown(amount=amount, currency=currency, rules=policy)
    refunded = quantize(b.client_total * data.draw(st.decimals(min_value=0, max_value=1, places=4)), currency)
    split = release_split(breakdown=b, refunded=refunded)
    assert split.tasker_net + split.platform_revenue == b.client_total - refunded
    assert split.tasker_net >= 0 and split.platform_revenue >= 0
    assert split.tasker_net <= b.tasker_net


def test_half_refund_halves_each_part():
    b = fee_breakdown(
        amount=Decimal("100.00"),
        currency="USD",
        rules=FeeRules(client_fee_percent=Decimal(5), commission_percent=Decimal(20)),
    )
    split = release_split(breakdown=b, refunded=Decimal("52.50"))
    assert split.tasker_net == Decimal("40.00")
    assert split.platform_revenue == Decimal("12.50")

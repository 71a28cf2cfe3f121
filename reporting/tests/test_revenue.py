"""The platform's revenue dashboard reconciles with the ledger to the cent — for property-generated
histories (payments in several currencies, partial and full refunds, releases, splits), before and
after the roll-up is refreshed — and the per-user statistics match the same ledger. Payouts,
chargebacks and wallet money, through their own apps' services: ``test_wired.py``."""

from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import ClientFactory, TaskerFactory
from payments.models import Escrow
from payments.selectors import escrow_fees_kept
from reporting import services
from reporting.models import LedgerDay
from reporting.periods import period_parse
from reporting.selectors.revenue import platform_dashboard
from reporting.selectors.statistics import StatsQuery, user_statistics
from reporting.tests.helpers import (
    FUNDING,
    REFUND,
    RELEASE,
    escrow_postings,
    escrows_held,
    ledger_sum,
    paid_escrow,
    platform_postings,
    refund,
    release,
    split,
)
from wallets.models import JournalEntry, LedgerAccount
from wallets.selectors import ledger_invariant_violations

pytestmark = pytest.mark.django_db
Kind = LedgerAccount.Kind

escrow_story = st.tuples(
    st.sampled_from(["USD", "EUR", "GBP"]),
    st.integers(min_value=500, max_value=99_999).map(lambda cents: Decimal(cents) / 100),  # agreed amount
    st.sampled_from(["held", "release", "partial_then_release", "full_refund", "split", "partial_held"]),
    st.integers(min_value=1, max_value=99),  # the refunded share, percent
)


def _play(story, client, tasker):
    currency, amount, ending, share = story
    escrow = paid_escrow(client=client, tasker=tasker, amount=amount, currency=currency)
    part = max((escrow.client_total * share / 100).quantize(Decimal("0.01")), Decimal("0.01"))
    if ending == "release":
        release(escrow)
    elif ending == "partial_then_release":
        refund(escrow, part)
        release(escrow)
    elif ending == "partial_held":
        refund(escrow, part)
    elif ending == "full_refund":
        refund(escrow, None)
    elif ending == "split":
        split(escrow, part)
    return escrow


def _assert_dashboard_matches_the_ledger():
    period = period_parse({"period": "30d"})
    dashboard = platform_dashboard(period=period)
    for currency in ("USD", "EUR", "GBP"):
        total = dashboard.totals.get(currency)
        if total is None:
            assert platform_postings(kind=Kind.PROCESSOR_BALANCE, currency=currency) == 0
            continue
        assert total.gross_volume == escrow_postings(currency=currency, entry_kind=FUNDING) + escrow_postings(
            currency=currency, entry_kind=JournalEntry.Kind.WALLET_PAYMENT
        )
        assert total.gross_volume == -platform_postings(
            kind=Kind.PROCESSOR_BALANCE, currency=currency, entry_kind=FUNDING
        )
        assert total.refunds == -escrow_postings(currency=currency, entry_kind=REFUND)
        assert total.fee_revenue == platform_postings(kind=Kind.PLATFORM_FEE_REVENUE, currency=currency)
        assert total.client_fees + total.commissions + total.payout_fees == total.fee_revenue
        assert total.chargebacks == -platform_postings(kind=Kind.CHARGEBACK_LOSSES, currency=currency)
        assert total.held_in_escrow == escrows_held(currency)
        by_status = sum((r["amount"] for r in dashboard.held_by_status if r["currency"] == currency), Decimal(0))
        assert by_status == escrows_held(currency)
    return dashboard


def _refresh():
    # Committed postings only (each service call commits here): everything made before this call.
    return services.ledger_rollup_refresh(margin=timezone.timedelta(0))


@pytest.fixture
def no_receipt_emails():
    """The receipts are tested on their own: here they would only slow each example down."""
    from core.events import subscribe, unsubscribe
    from payments.events import EscrowFunded
    from reporting.subscribers import escrow_funded_receipt

    unsubscribe(EscrowFunded, escrow_funded_receipt)
    yield
    subscribe(EscrowFunded, escrow_funded_receipt, on_commit=True)


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(stories=st.lists(escrow_story, min_size=1, max_size=4), refresh_after=st.integers(min_value=0, max_value=4))
def test_figures_match_the_ledger_to_the_cent(stories, refresh_after, emulated_escrows, no_receipt_emails):
    """Part of the history in the roll-up, the rest read live; then all of it rolled up."""
    client, tasker = ClientFactory(), TaskerFactory()
    escrows = []
    for i, story in enumerate(stories):
        if i == refresh_after:
            _refresh()
        escrows.append(_play(story, client, tasker))

    before = _assert_dashboard_matches_the_ledger()
    _refresh()
    after = _assert_dashboard_matches_the_ledger()
    assert [vars(r) for r in before.rows] == [vars(r) for r in after.rows]

    # Client fees: exactly the fees of the releases (fee rule unwound for refunds).
    for currency in {e.currency for e in escrows}:
        period = period_parse({"period": "7d"})
        mine = user_statistics(user=client, query=StatsQuery(role="client", period=period, currency=currency))
        assert mine["total_amount"] == escrow_postings(currency=currency, entry_kind=FUNDING, client=client)
        assert mine["total_refunded"] == -escrow_postings(currency=currency, entry_kind=REFUND, client=client)
        earned = user_statistics(user=tasker, query=StatsQuery(role="tasker", period=period, currency=currency))
        wallet = ledger_sum(
            account__kind=Kind.USER_WALLET, account__user=tasker, currency=currency, entry__kind=RELEASE
        )
        assert earned["total_amount"] == wallet
        released_from = -escrow_postings(currency=currency, entry_kind=RELEASE, tasker=tasker)
        fees_kept = sum(
            (escrow_fees_kept(escrow=e)[0] for e in Escrow.objects.filter(tasker=tasker, currency=currency)),
            Decimal(0),
        )
        # What left the tasker's escrows at release = net + commission kept + client fees kept.
        assert released_from == earned["total_gross"] + fees_kept
    assert ledger_invariant_violations() == []


@pytest.mark.django_db(transaction=True)
def test_a_refresh_adds_each_posting_once(emulated_escrows):
    client, tasker = ClientFactory(), TaskerFactory()
    release(paid_escrow(client=client, tasker=tasker, amount="100.00"))
    first = _refresh()
    assert LedgerDay.objects.filter(account_kind=Kind.PLATFORM_FEE_REVENUE).get().amount == Decimal("25.00")
    assert _refresh() >= first  # nothing new: nothing added
    total = platform_dashboard(period=period_parse({"period": "7d"}), currency="USD").totals["USD"]
    assert (total.gross_volume, total.fee_revenue) == (Decimal("105.00"), Decimal("25.00"))
    assert (total.client_fees, total.commissions) == (Decimal("5.00"), Decimal("20.00"))
    services.ledger_rollup_rebuild()
    rebuilt = platform_dashboard(period=period_parse({"period": "7d"}), currency="USD").totals["USD"]
    assert (rebuilt.gross_volume, rebuilt.fee_revenue) == (Decimal("105.00"), Decimal("25.00"))

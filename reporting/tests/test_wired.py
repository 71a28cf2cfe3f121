"""Reporting tells the whole truth about payouts, chargebacks, wallet top-ups, withdrawals and escrows
paid from the wallet: each story is played through the real services of its app on the Stripe
emulator, then the history (page, CSV, API, staff search), the receipts and statements, the
statistics and the revenue dashboard are read back and compared with the ledger to the cent."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import ClientFactory
from disputes import services as disputes
from disputes.models import Chargeback
from disputes.tests.factories import finance
from payments import escrow as escrow_services
from payments import topups
from payments.models import Escrow, WalletTopUp
from payments.tests.factories import escrow_awaiting_payment, escrow_pay
from payouts import services as payouts
from payouts.models import Payout
from payouts.tests.helpers import (
    bank_answers,
    connect_events,
    deliver,
    platform_funds_available,
    support_user,
    tasker_earning,
)
from processors.interface import EventKind, ProcessorEvent
from processors.registry import event_dispatch
from processors.stripe import gateway
from reporting import services
from reporting.periods import period_parse
from reporting.selectors.revenue import platform_dashboard
from reporting.selectors.statistics import StatsQuery, user_statistics
from reporting.tests.helpers import ledger_sum, pdf_text
from wallets.models import JournalEntry, LedgerAccount

pytestmark = pytest.mark.django_db
Kind = LedgerAccount.Kind
Entry = JournalEntry.Kind


def _postings(account_kind: str, *entry_kinds: str, currency: str = "USD") -> Decimal:
    filters = {"account__kind": account_kind, "currency": currency}
    if entry_kinds:
        filters["entry__kind__in"] = entry_kinds
    return ledger_sum(**filters)


def _dashboards():
    """The week's USD totals read live, then again from the refreshed roll-up: both must agree."""
    live = platform_dashboard(period=period_parse({"period": "7d"}), currency="USD")
    services.ledger_rollup_refresh(margin=timezone.timedelta(0))
    rolled = platform_dashboard(period=period_parse({"period": "7d"}), currency="USD")
    return live, rolled


def _assert_fees_add_up(total):
    assert total.fee_revenue == _postings(Kind.PLATFORM_FEE_REVENUE)
    assert total.client_fees + total.commissions + total.payout_fees == total.fee_revenue


# --- payouts -----------------------------------------------------------------------------------


@pytest.fixture
def paid_payout(stripe_emulator, settings, django_capture_on_commit_callbacks):
    """A tasker earns 80.00 (a 100.00 task), sets up payouts and is paid 50.00 (fee 1.50) to the bank,
    through the payouts services and the emulator's transfer, bank payout and payout.paid event."""
    settings.PAYOUT_FIRST_NEEDS_APPROVAL = False
    settings.PAYOUT_FEE = Decimal("1.50")
    tasker = tasker_earning("100.00")
    platform_funds_available(stripe_emulator)
    with django_capture_on_commit_callbacks(execute=True):
        payout = payouts.payout_request(tasker=tasker, amount="50.00", currency="USD")
    bank_answers(stripe_emulator)
    deliver(connect_events(stripe_emulator, "payout.paid", "payout.updated"))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    yield payout
    from wallets.selectors import ledger_invariant_violations

    assert ledger_invariant_violations() == []


def test_a_taskers_payout_is_in_the_history_csv_api_search_and_statement(paid_payout, client, api_client):
    payout = paid_payout
    tasker = payout.tasker
    transfer, bank_payout = payout.transfer.reference, payout.bank_payout.reference
    assert transfer.startswith("tr_") and bank_payout.startswith("po_")

    api_client.force_authenticate(tasker)
    body = api_client.get("/api/v1/reporting/history/", {"kind": "payout"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["kind"], row["id"], row["status"]) == ("payout", payout.pk, "paid")
    assert (row["amount"], row["fee"], row["net"]) == ("50.00", "1.50", "48.50")
    assert (row["reference"], row["charge_reference"]) == (transfer, bank_payout)
    assert row["method"] == f"Bank •••• {payout.account.bank_last4}" and row["status_label"] == "Paid"
    # The tasker's whole history: the earning and the payout; a client sees no payouts.
    assert {r["kind"] for r in api_client.get("/api/v1/reporting/history/").json()["results"]} == {
        "earning",
        "payout",
    }
    assert api_client.get("/api/v1/reporting/history/", {"q": bank_payout}).json()["count"] == 1
    assert api_client.get("/api/v1/reporting/history/", {"kind": "bogus"}).json()["error"]["code"] == "kind_invalid"

    client.force_login(tasker)
    page = client.get(reverse("reporting:history"), {"kind": "payout"}).content.decode()
    assert 'value="payout"' in page and "48.50 USD" in page and transfer in page
    assert f'href="{reverse("payouts:detail", args=[payout.pk])}"' in page
    csv = b"".join(client.get(reverse("reporting:history_csv"), {"kind": "payout"}).streaming_content).decode()
    header, line = csv.strip().splitlines()
    assert header.endswith(",card,method") and f",payout,{payout.pk}," in line and ",50.00,1.50,48.50,paid," in line

    staff = support_user()
    client.force_login(staff)
    found = client.get("/admin/reporting/transactionsearch/", {"reference": transfer}).content.decode()
    assert "1 found" in found and "48.50 USD" in found

    # The month's statement lists the payout and what reached the bank.
    month = timezone.localtime(payout.requested_at).strftime("%Y-%m")
    client.force_login(tasker)
    pdf = client.get(reverse("reporting:earnings_statement", kwargs={"month": month, "currency": "USD"}))
    text = pdf_text(pdf.content)
    assert f"#{payout.pk}" in text and "Paid" in text and "48.50 USD" in text and "-1.50 USD" in text


def test_the_dashboard_shows_a_paid_payout_and_its_fee_as_the_ledger_does(paid_payout):
    for dashboard in _dashboards():
        total = dashboard.totals["USD"]
        assert total.payouts == Decimal("50.00") == -_postings(Kind.USER_WALLET, Entry.PAYOUT, Entry.PAYOUT_REVERSAL)
        assert total.payout_fees == Decimal("1.50") == _postings(Kind.PLATFORM_FEE_REVENUE, Entry.PAYOUT)
        assert total.payouts_paid == Decimal("48.50") == _postings(Kind.PROCESSOR_BALANCE, Entry.PAYOUT_PAID)
        # The payout fee is not a commission: the task's 20 % commission stays 20.00.
        assert (total.client_fees, total.commissions, total.fee_revenue) == (
            Decimal("5.00"),
            Decimal("20.00"),
            Decimal("26.50"),
        )
        _assert_fees_add_up(total)
        assert dashboard.payouts_in_transit.get("USD", Decimal("0.00")) == _postings(Kind.PAYOUTS_IN_TRANSIT) == 0


def test_a_cancelled_payout_gives_its_fee_back_on_the_dashboard(stripe_emulator, settings):
    settings.PAYOUT_FEE = Decimal("1.00")  # the first payout waits for Finance's approval
    tasker = tasker_earning("100.00")
    payout = payouts.payout_request(tasker=tasker, amount="30.00", currency="USD")
    in_transit = platform_dashboard(period=period_parse({"period": "7d"}), currency="USD")
    assert in_transit.payouts_in_transit == {"USD": Decimal("29.00")}
    payouts.payout_cancel(payout=payout, actor=tasker)
    for dashboard in _dashboards():
        total = dashboard.totals["USD"]
        assert (total.payouts, total.payout_fees, total.payouts_paid) == (Decimal("0.00"),) * 3
        assert dashboard.payouts_in_transit == {"USD": Decimal("0.00")}
        _assert_fees_add_up(total)


# --- chargebacks -------------------------------------------------------------------------------


def _chargeback_opened() -> tuple[Escrow, Chargeback]:
    """An escrow paid with the emulator's dispute test card; the bank's events reach the disputes app."""
    escrow = escrow_pay(escrow_awaiting_payment(amount="100.00"), card="pm_card_createDispute")
    reference = gateway.dispute_for_charge(escrow.payment.charge_reference).id
    for i, kind in enumerate(EventKind.CHARGEBACK_KINDS):
        event_dispatch(ProcessorEvent(processor="stripe", event_id=f"evt_report_{i}", kind=kind, reference=reference))
    return escrow, Chargeback.objects.get(reference=reference)


def test_a_chargeback_open_then_lost_shows_what_the_bank_took_and_the_platforms_loss(stripe_emulator):
    escrow, chargeback = _chargeback_opened()  # 105.00 taken, plus Stripe's 15.00 fee
    opened = platform_dashboard(period=period_parse({"period": "7d"}), currency="USD").totals["USD"]
    assert opened.chargebacks_withdrawn == Decimal("120.00") == opened.chargebacks
    assert opened.chargebacks == -_postings(Kind.CHARGEBACK_LOSSES)

    disputes.chargeback_accept(chargeback=chargeback, actor=finance())  # lost: the escrow covers the amount
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED
    for dashboard in _dashboards():
        total = dashboard.totals["USD"]
        assert total.chargebacks == Decimal("15.00") == -_postings(Kind.CHARGEBACK_LOSSES)  # only the fee is lost
        assert total.chargebacks_withdrawn == Decimal("120.00")
        taken = _postings(Kind.PROCESSOR_BALANCE, Entry.CHARGEBACK, Entry.CHARGEBACK_REVERSAL)
        assert total.chargebacks_withdrawn == taken
        assert total.gross_volume == Decimal("105.00") and total.refunds == Decimal("0.00")
        assert total.held_in_escrow == Decimal("0.00")
        _assert_fees_add_up(total)
    from wallets.selectors import ledger_invariant_violations

    assert ledger_invariant_violations() == []


def test_a_chargeback_won_gives_the_amount_back(stripe_emulator):
    escrow, chargeback = _chargeback_opened()
    disputes.chargeback_evidence_submit(
        chargeback=chargeback, actor=finance(), text={"uncategorized_text": "winning_evidence"}
    )
    for dashboard in _dashboards():
        total = dashboard.totals["USD"]
        assert total.chargebacks_withdrawn == Decimal("15.00") == total.chargebacks  # the fee stays with the bank
        assert total.chargebacks == -_postings(Kind.CHARGEBACK_LOSSES)


# --- the wallet --------------------------------------------------------------------------------


def _top_up(client, amount: str) -> WalletTopUp:
    made = topups.top_up_create(client=client, amount=amount, currency="USD")
    topups.top_up_payment_confirm(top_up=made, actor=client, payment_method="pm_card_visa", return_url="http://x/")
    made.refresh_from_db()
    topups.top_up_fund_from_payment(payment_reference=made.payment.reference)
    made.refresh_from_db()
    assert made.status == WalletTopUp.Status.SUCCEEDED
    return made


@pytest.fixture
def wallet_story(emulated_escrows):
    """A client tops up 200.00 by card, pays a 100.00 task (105.00) from the wallet, gets 40.00
    refunded to the wallet, and withdraws the 135.00 left to the card."""
    client = ClientFactory(email="walleter@example.com")
    top_up = _top_up(client, "200.00")
    escrow = escrow_awaiting_payment(amount="100.00", client=client)
    escrow = escrow_services.escrow_fund_from_wallet(escrow=escrow, actor=client)
    refund = escrow_services.escrow_refund(escrow=escrow, amount=Decimal("40.00"), actor=None, reason="Half done")
    withdrawal = topups.top_up_withdraw(top_up=top_up, actor=client)
    escrow.refresh_from_db()
    return {"client": client, "top_up": top_up, "escrow": escrow, "refund": refund, "withdrawal": withdrawal}


def test_a_clients_wallet_money_is_in_the_history_with_wallet_instead_of_a_card(wallet_story, client, api_client):
    from reporting.api.serializers import KIND_CHOICES
    from reporting.selectors.history import history_sources

    assert sorted(KIND_CHOICES) == sorted(s.kind for s in history_sources())  # the API's schema lists them all
    story = wallet_story
    api_client.force_authenticate(story["client"])
    body = api_client.get("/api/v1/reporting/history/").json()
    rows = {r["kind"]: r for r in body["results"]}
    assert body["count"] == 4 and set(rows) == {"payment", "refund", "top_up", "withdrawal"}
    payment, refund = rows["payment"], rows["refund"]
    assert payment["method"] == "Wallet" and payment["reference"] == "" and payment["charge_reference"] == ""
    assert payment["amount"] == "105.00" and payment["receipt_url"]
    assert refund["method"] == "Wallet" and refund["amount"] == "40.00" and refund["status"] == "succeeded"
    top_up = rows["top_up"]
    assert (top_up["id"], top_up["amount"], top_up["status"]) == (story["top_up"].pk, "200.00", "succeeded")
    assert top_up["reference"] == story["top_up"].payment.reference and top_up["method"] != "Wallet"
    assert top_up["receipt_url"] == f"/api/v1/reporting/top-ups/{story['top_up'].pk}/receipt/"
    assert rows["withdrawal"]["amount"] == "135.00" and rows["withdrawal"]["status"] == "succeeded"
    assert rows["withdrawal"]["reference"].startswith("re_")
    for kind in ("top_up", "withdrawal"):
        assert api_client.get("/api/v1/reporting/history/", {"kind": kind}).json()["count"] == 1

    client.force_login(story["client"])
    page = client.get(reverse("reporting:history")).content.decode()
    assert "Wallet top-up" in page and "Wallet withdrawal" in page and "<td>Wallet</td>" in page
    assert f'href="{reverse("payments:top_up", args=[story["top_up"].pk])}"' in page
    csv = b"".join(client.get(reverse("reporting:history_csv")).streaming_content).decode()
    assert len(csv.strip().splitlines()) == 1 + 4 and ",Wallet" in csv

    client.force_login(support_user())
    found = client.get("/admin/reporting/transactionsearch/", {"email": "walleter@example.com"}).content.decode()
    # Her four rows, and the tasker's earning from her task (the client's email is on it).
    assert "5 found" in found and "Wallet top-up" in found and "Wallet withdrawal" in found


def test_receipts_say_the_wallet_paid_and_the_refund_went_back_to_it(wallet_story, client, api_client):
    story = wallet_story
    client.force_login(story["client"])
    payment = pdf_text(client.get(reverse("reporting:payment_receipt", args=[story["escrow"].pk])).content)
    assert "Paid from your Holdfast wallet" in payment and "105.00 USD" in payment
    refund = pdf_text(client.get(reverse("reporting:refund_receipt", args=[story["refund"].pk])).content)
    assert "Your Holdfast wallet" in refund and "refund went back to your wallet" in refund
    top_up = pdf_text(client.get(reverse("reporting:top_up_receipt", args=[story["top_up"].pk])).content)
    assert "Wallet top-up receipt" in top_up and "200.00 USD" in top_up and "-135.00 USD" in top_up
    assert story["top_up"].payment.reference in top_up

    api_client.force_authenticate(story["client"])
    response = api_client.get(f"/api/v1/reporting/top-ups/{story['top_up'].pk}/receipt/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    # Nobody else's, and no receipt for a top-up not paid.
    other = ClientFactory()
    client.force_login(other)
    assert client.get(reverse("reporting:top_up_receipt", args=[story["top_up"].pk])).status_code == 404
    unpaid = topups.top_up_create(client=other, amount="10.00", currency="USD")
    assert client.get(reverse("reporting:top_up_receipt", args=[unpaid.pk])).status_code == 404
    api_client.force_authenticate(other)
    missing = api_client.get(f"/api/v1/reporting/top-ups/{story['top_up'].pk}/receipt/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "receipt_not_found"


def test_statistics_count_wallet_paid_escrows_and_not_top_ups(wallet_story):
    story = wallet_story
    query = StatsQuery(role="client", period=period_parse({"period": "30d"}), currency="USD")
    stats = user_statistics(user=story["client"], query=query)
    assert stats["total_payments"] == 1 and stats["total_amount"] == Decimal("105.00")
    assert stats["total_fees"] == Decimal("5.00") and stats["total_refunded"] == Decimal("40.00")


def test_the_dashboard_shows_wallet_money_as_the_ledger_does(wallet_story):
    for dashboard in _dashboards():
        total = dashboard.totals["USD"]
        assert total.wallet_top_ups == Decimal("200.00") == -_postings(Kind.PROCESSOR_BALANCE, Entry.WALLET_TOP_UP)
        assert total.wallet_withdrawals == Decimal("135.00")
        assert total.wallet_withdrawals == _postings(Kind.PROCESSOR_BALANCE, Entry.WALLET_WITHDRAWAL)
        # The task was paid for (from the wallet): it is volume; the top-up is not.
        assert total.gross_volume == total.paid_from_wallets == Decimal("105.00")
        assert total.paid_from_wallets == _postings(Kind.ESCROW, Entry.WALLET_PAYMENT)
        assert total.refunds == total.refunds_to_wallets == Decimal("40.00")
        assert total.refunds == -_postings(Kind.ESCROW, Entry.ESCROW_REFUND)
        assert total.escrow_in == Decimal("105.00") and total.held_in_escrow == Decimal("65.00")
        assert total.client_fees == Decimal("0.00") and total.fee_revenue == Decimal("0.00")  # nothing released yet
        _assert_fees_add_up(total)

"""Wallet page, CSV, API, admin and the ledger_check command."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from accounts.tests.factories import PASSWORD, UserFactory
from wallets import services, tasks
from wallets.models import JournalEntry, LedgerAccount
from wallets.tests.factories import EscrowAccountFactory, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasker_with_history():
    escrow = EscrowAccountFactory()
    fund(escrow, "100.00")
    wallet = services.wallet_account_get_or_create(user=escrow.tasker, currency="USD")
    fees = services.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD")
    services.ledger_post(
        idempotency_key="release-1",
        kind=JournalEntry.Kind.ESCROW_RELEASE,
        reference="escrow:1",
        lines=[(escrow, Decimal("-60.00")), (wallet, Decimal("48.00")), (fees, Decimal("12.00"))],
        actor=None,
        memo="Fix the fence",
    )
    fund(wallet, "2.50")
    return escrow.tasker, escrow


def _login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def test_wallet_page_shows_balances_and_statement_with_running_balance(client, tasker_with_history):
    tasker, escrow = tasker_with_history
    _login(client, tasker)
    response = client.get(reverse("wallets:wallet"))
    assert response.status_code == 200
    (usd,) = response.context["balances"]
    # Pending as tasker comes from the escrows' fee rules (payments), not the escrow account's
    # balance: this escrow account has no escrow behind it, so nothing is pending.
    assert (usd.available, usd.pending_as_tasker, usd.held_in_escrow) == (
        Decimal("50.50"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    rows = response.context["rows"]
    assert [(r.amount, r.balance_after) for r in rows] == [
        (Decimal("2.50"), Decimal("50.50")),
        (Decimal("48.00"), Decimal("48.00")),
    ]
    assert b"Fix the fence" in response.content

    filtered = client.get(reverse("wallets:wallet"), {"kind": "escrow_release"})
    assert [r.amount for r in filtered.context["rows"]] == [Decimal("48.00")]
    future = client.get(reverse("wallets:wallet"), {"date_from": "2999-01-01"})
    assert future.context["rows"] == []

    client_view = client.get(reverse("wallets:wallet"))
    assert client_view.status_code == 200
    client.logout()
    _login(client, escrow.client)
    (client_usd,) = client.get(reverse("wallets:wallet")).context["balances"]
    assert client_usd.held_in_escrow == Decimal("40.00")


def test_wallet_page_requires_login(client):
    response = client.get(reverse("wallets:wallet"))
    assert response.status_code == 302


def test_statement_csv(client, tasker_with_history):
    tasker, _ = tasker_with_history
    _login(client, tasker)
    response = client.get(reverse("wallets:statement_csv"), {"currency": "USD"})
    assert response["Content-Type"] == "text/csv"
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0] == "date,entry,kind,reference,memo,currency,amount,balance_after"
    assert [line.split(",")[-2:] for line in lines[1:]] == [["2.50", "50.50"], ["48.00", "48.00"]]


def test_api_balances_and_transactions_are_the_owners_only(api_client, tasker_with_history):
    tasker, escrow = tasker_with_history
    api_client.force_authenticate(tasker)
    balances = api_client.get("/api/v1/wallet/").json()["results"]
    assert balances == [
        {"currency": "USD", "available": "50.50", "held_in_escrow": "0.00", "pending_as_tasker": "0.00"}
    ]
    page = api_client.get("/api/v1/wallet/transactions/", {"page_size": 1}).json()
    assert page["count"] == 2
    assert [(r["amount"], r["balance_after"], r["kind"]) for r in page["results"]] == [("2.50", "50.50", "adjustment")]
    release = api_client.get("/api/v1/wallet/transactions/", {"kind": "escrow_release"}).json()["results"]
    assert [(r["amount"], r["memo"]) for r in release] == [("48.00", "Fix the fence")]

    api_client.force_authenticate(UserFactory())
    assert api_client.get("/api/v1/wallet/transactions/").json()["count"] == 0
    stranger = api_client.get("/api/v1/wallet/").json()["results"]
    assert stranger == [{"currency": "USD", "available": "0.00", "held_in_escrow": "0.00", "pending_as_tasker": "0.00"}]


def test_api_bad_filters_get_the_error_shape(api_client):
    api_client.force_authenticate(UserFactory())
    response = api_client.get("/api/v1/wallet/transactions/", {"currency": "XYZ"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    api_client.force_authenticate(None)
    assert api_client.get("/api/v1/wallet/").status_code == 401


def test_admin_ledger_is_read_only_with_a_statement(client, tasker_with_history):
    tasker, _ = tasker_with_history
    admin = UserFactory(is_staff=True, is_superuser=True)
    _login(client, admin)
    entry = JournalEntry.objects.get(idempotency_key="release-1")
    wallet = LedgerAccount.objects.get(user=tasker)
    assert client.get(reverse("admin:wallets_journalentry_changelist")).status_code == 200
    detail = client.get(reverse("admin:wallets_journalentry_change", args=[entry.pk]))
    assert detail.status_code == 200
    assert b"48.00" in detail.content
    assert client.get(reverse("admin:wallets_ledgeraccount_changelist")).status_code == 200
    assert client.get(reverse("admin:wallets_journalentry_add")).status_code == 403
    assert client.post(reverse("admin:wallets_journalentry_delete", args=[entry.pk])).status_code == 403
    statement = client.get(reverse("admin:wallets_ledgeraccount_statement", args=[wallet.pk]))
    assert statement.status_code == 200
    assert [r.balance_after for r in statement.context["rows"]] == [Decimal("50.50"), Decimal("48.00")]
    fees = LedgerAccount.objects.get(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD")
    fee_statement = client.get(reverse("admin:wallets_ledgeraccount_statement", args=[fees.pk]))
    assert fee_statement.context["rows"][0].balance_after == fee_statement.context["balance"]


def test_ledger_check_passes_on_a_sound_ledger(tasker_with_history, capsys):
    call_command("ledger_check")
    assert "Ledger OK" in capsys.readouterr().out
    assert tasks.ledger_check() == 0


def test_ledger_check_fails_with_a_readable_report(tasker_with_history, capsys):
    # Corrupt a cached balance the only way possible: as a superuser with triggers switched off.
    wallet = LedgerAccount.objects.get(user=tasker_with_history[0])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE wallets_ledgeraccount SET balance = balance + 1 WHERE id = %s", [wallet.pk])
        cursor.execute("SET LOCAL session_replication_role = origin")
    with pytest.raises(CommandError) as exc:
        call_command("ledger_check")
    assert exc.value.returncode == 1
    report = capsys.readouterr().err
    assert "[balance_mismatch]" in report
    assert f"Account {wallet.pk} (user_wallet, USD) shows a balance of 51.50 but its postings sum to 50.50." in report
    assert tasks.ledger_check() == 1

from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from core.errors import ValidationError
from wallets import selectors, services
from wallets.errors import IdempotencyKeyReused, InsufficientFunds
from wallets.models import JournalEntry, LedgerAccount, Posting
from wallets.tests.factories import EscrowAccountFactory, WalletAccountFactory, fund

pytestmark = pytest.mark.django_db

D = Decimal


def _release_lines(escrow, tasker_wallet, fees, total="100.00", net="80.00", fee="20.00"):
    return [(escrow, -D(total)), (tasker_wallet, D(net)), (fees, D(fee))]


def test_escrow_release_moves_money_and_balances_stay_o1():
    escrow = EscrowAccountFactory()
    fund(escrow, "100.00")
    tasker_wallet = services.wallet_account_get_or_create(user=escrow.tasker, currency="USD")
    fees = services.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD")

    entry = services.ledger_post(
        idempotency_key="escrow:1:release",
        kind=JournalEntry.Kind.ESCROW_RELEASE,
        reference=escrow,
        lines=_release_lines(escrow, tasker_wallet, fees),
        actor=escrow.client,
        memo="Released on approval",
    )

    assert selectors.account_balance(account=escrow) == D("0.00")
    assert selectors.account_balance(account=tasker_wallet) == D("80.00")
    assert selectors.account_balance(account=fees) == D("20.00")
    processor = services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD")
    assert selectors.account_balance(account=processor) == D("-100.00")
    assert entry.postings.count() == 3
    assert entry.reference == f"wallets.ledgeraccount:{escrow.pk}"
    assert list(Posting.objects.filter(account=tasker_wallet).values_list("balance_after", flat=True)) == [D("80.00")]
    # The platform account keeps no hot balance row.
    fees.refresh_from_db()
    assert fees.balance == 0
    assert selectors.ledger_invariant_violations() == []


def test_same_key_same_lines_returns_first_entry_and_moves_nothing():
    wallet = WalletAccountFactory()
    first = fund(wallet, "30.00", key="k-1")
    again = fund(wallet, "30.00", key="k-1")
    assert again.pk == first.pk
    assert selectors.account_balance(account=wallet) == D("30.00")
    assert JournalEntry.objects.filter(idempotency_key="k-1").count() == 1


def test_same_key_different_lines_is_refused():
    wallet = WalletAccountFactory()
    fund(wallet, "30.00", key="k-2")
    with pytest.raises(IdempotencyKeyReused) as exc:
        fund(wallet, "31.00", key="k-2")
    assert exc.value.code == "idempotency_key_reused"
    assert selectors.account_balance(account=wallet) == D("30.00")


def test_retry_of_a_debit_that_emptied_the_wallet_is_not_an_overdraft():
    wallet = WalletAccountFactory()
    fund(wallet, "10.00")
    payouts = services.platform_account(kind=LedgerAccount.Kind.PAYOUTS_IN_TRANSIT, currency="USD")
    lines = [(wallet, D("-10.00")), (payouts, D("10.00"))]
    first = services.ledger_post(
        idempotency_key="payout:1", kind="payout", reference="payout:1", lines=lines, actor=None
    )
    again = services.ledger_post(
        idempotency_key="payout:1", kind="payout", reference="payout:1", lines=lines, actor=None
    )
    assert again.pk == first.pk
    assert selectors.account_balance(account=wallet) == D("0.00")


def test_insufficient_funds_is_refused_and_leaves_nothing_behind():
    wallet = WalletAccountFactory()
    fund(wallet, "10.00")
    payouts = services.platform_account(kind=LedgerAccount.Kind.PAYOUTS_IN_TRANSIT, currency="USD")
    entries_before, postings_before = JournalEntry.objects.count(), Posting.objects.count()
    with pytest.raises(InsufficientFunds) as exc:
        services.ledger_post(
            idempotency_key="payout:2",
            kind="payout",
            reference="payout:2",
            lines=[(wallet, D("-10.01")), (payouts, D("10.01"))],
            actor=None,
        )
    assert exc.value.code == "insufficient_funds"
    assert exc.value.details == {"currency": "USD", "available": "10.00", "required": "10.01"}
    assert "10.00 USD available" in exc.value.message
    assert (JournalEntry.objects.count(), Posting.objects.count()) == (entries_before, postings_before)
    assert selectors.account_balance(account=wallet) == D("10.00")
    # The key was not used up: a smaller payout with the same key later succeeds.
    services.ledger_post(
        idempotency_key="payout:2",
        kind="payout",
        reference="payout:2",
        lines=[(wallet, D("-4.00")), (payouts, D("4.00"))],
        actor=None,
    )
    assert selectors.account_balance(account=wallet) == D("6.00")


@pytest.mark.parametrize(
    ("amounts", "code"),
    [
        (["10.00", "-9.99"], "ledger_entry_unbalanced"),
        (["10.00", "0", "-10.00"], "ledger_amount_zero"),
        (["10.001", "-10.001"], "amount_precision"),
        (["10.00"], "ledger_entry_too_few_lines"),
    ],
)
def test_bad_lines_are_refused_with_a_code(amounts, code):
    wallet = WalletAccountFactory()
    processor = services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD")
    accounts = [wallet, processor, processor]
    with pytest.raises(ValidationError) as exc:
        services.ledger_post(
            idempotency_key="bad",
            kind="adjustment",
            reference="x",
            lines=[(accounts[i], D(a)) for i, a in enumerate(amounts)],
            actor=None,
        )
    assert exc.value.code == code
    assert not JournalEntry.objects.filter(idempotency_key="bad").exists()


def test_floats_are_refused():
    wallet = WalletAccountFactory()
    processor = services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD")
    with pytest.raises(ValidationError) as exc:
        services.ledger_post(
            idempotency_key="f", kind="adjustment", reference="x", lines=[(wallet, 1.5), (processor, -1.5)], actor=None
        )
    assert exc.value.code == "amount_invalid"


def test_multi_currency_entry_balances_per_currency():
    user = UserFactory()
    usd = services.wallet_account_get_or_create(user=user, currency="USD")
    eur = services.wallet_account_get_or_create(user=user, currency="eur")
    assert eur.currency == "EUR"
    fund(usd, "50.00")
    usd_proc = services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD")
    eur_proc = services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="EUR")
    services.ledger_post(
        idempotency_key="fx-1",
        kind="adjustment",
        reference="fx",
        lines=[(usd, D("-10.00")), (usd_proc, D("10.00")), (eur_proc, D("-9.00")), (eur, D("9.00"))],
        actor=None,
    )
    balances = {b.currency: b.available for b in selectors.wallet_balances(user=user)}
    assert balances == {"USD": D("40.00"), "EUR": D("9.00")}
    with pytest.raises(ValidationError) as exc:
        services.ledger_post(
            idempotency_key="fx-2",
            kind="adjustment",
            reference="fx",
            lines=[(usd, D("-10.00")), (eur, D("10.00"))],
            actor=None,
        )
    assert exc.value.code == "ledger_entry_unbalanced"


def test_accounts_are_one_per_owner_and_currency():
    user = UserFactory()
    a = services.wallet_account_get_or_create(user=user, currency="USD")
    b = services.wallet_account_get_or_create(user=user, currency="USD")
    assert a.pk == b.pk
    p1 = services.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="GBP")
    p2 = services.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="GBP")
    assert p1.pk == p2.pk
    with pytest.raises(ValidationError) as exc:
        services.wallet_account_get_or_create(user=user, currency="XYZ")
    assert exc.value.code == "currency_not_supported"


def test_several_accounts_found_at_once_are_the_ones_found_one_by_one(django_assert_num_queries):
    client, tasker, other = UserFactory(), UserFactory(), UserFactory()
    escrow_owner = UserFactory()  # stands in for an Escrow row
    held = services.escrow_account_get_or_create(escrow=escrow_owner, currency="USD", client=client, tasker=tasker)
    wallet = services.wallet_account_get_or_create(user=tasker, currency="USD")
    services.wallet_account_get_or_create(user=tasker, currency="EUR")  # same owner, another currency
    services.wallet_account_get_or_create(user=other, currency="USD")
    fees = services.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD")
    services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD")

    wanted = [
        {"kind": LedgerAccount.Kind.PLATFORM_FEE_REVENUE, "currency": "USD"},
        {"kind": LedgerAccount.Kind.ESCROW, "currency": "USD", "owner": escrow_owner},
        {"kind": LedgerAccount.Kind.USER_WALLET, "currency": "USD", "user_id": tasker.pk},
    ]
    with django_assert_num_queries(1):
        found = services.accounts_get_or_create(*wanted)
    assert [a.pk for a in found] == [fees.pk, held.pk, wallet.pk]
    assert found[1].balance == D("0.00") and found[1].tasker_id == tasker.pk


def test_several_accounts_at_once_creates_the_missing_ones_and_checks_every_one():
    newcomer = UserFactory()
    fees = services.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD")

    found = services.accounts_get_or_create(
        {"kind": LedgerAccount.Kind.USER_WALLET, "currency": "USD", "user": newcomer},
        {"kind": LedgerAccount.Kind.PLATFORM_FEE_REVENUE, "currency": "USD"},
    )

    assert found[0] == LedgerAccount.objects.get(kind=LedgerAccount.Kind.USER_WALLET, user=newcomer)
    assert found[1].pk == fees.pk
    before = LedgerAccount.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.accounts_get_or_create(
            {"kind": LedgerAccount.Kind.USER_WALLET, "currency": "USD", "user": newcomer},
            {"kind": LedgerAccount.Kind.USER_WALLET, "currency": "USD"},  # a wallet without an owner
        )
    assert exc.value.code == "ledger_account_owner_invalid"
    assert LedgerAccount.objects.count() == before


def test_escrow_accounts_show_as_held_for_the_client_and_pending_comes_from_the_providers():
    client, tasker = UserFactory(), UserFactory()
    escrow_owner = UserFactory()  # stands in for an Escrow row
    escrow = services.escrow_account_get_or_create(escrow=escrow_owner, currency="USD", client=client, tasker=tasker)
    fund(escrow, "105.00")
    # Only the owning app knows the tasker's net; here a provider stands in for payments'.
    # (payments' own provider finds no escrow of these users: it adds nothing.)
    selectors.wallet_pending_register(
        name="test", provider=lambda user: {"USD": D("80.00"), "EUR": D("8.00")} if user == tasker else {}
    )
    try:
        _check_pending(client, tasker)
    finally:
        selectors.wallet_pending_unregister(name="test")


def _check_pending(client, tasker):
    client_row = selectors.wallet_balances(user=client)[0]
    tasker_rows = {row.currency: row for row in selectors.wallet_balances(user=tasker)}
    assert (client_row.held_in_escrow, client_row.pending_as_tasker) == (D("105.00"), D("0.00"))
    assert (tasker_rows["USD"].held_in_escrow, tasker_rows["USD"].pending_as_tasker) == (D("0.00"), D("80.00"))
    assert tasker_rows["EUR"].pending_as_tasker == D("8.00")
    assert client_row.available == D("0.00")

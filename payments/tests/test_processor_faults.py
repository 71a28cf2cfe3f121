"""Stripe misbehaving under every Holdfast write of the payments app: funding an escrow, refunds,
wallet top-ups and withdrawals, customers and card setups. Faults come from the emulator
(``stripe_emulator.faults``: a 500, a 429, an answer lost after the work was done), over HTTP
through the real SDK.

While the retries absorb a fault the operation completes once. When the fault outlasts them the
user gets an error with a stable code and nothing is half-written; the next attempt or the repair
job (run here with its waiting time set to zero) converges without doing anything twice, and finds
the work Stripe did whose answer was lost. The ledger's invariants are checked after every test.
"""

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.tests.factories import ClientFactory
from core.errors import ApplicationError
from payments import cards, topups
from payments import escrow as services
from payments.models import Escrow, EscrowRefund, WalletTopUp, WalletWithdrawal
from payments.tests.factories import escrow_awaiting_payment, escrow_funded
from payments.tests.fault_helpers import (  # noqa: F401  (quick_retries: a fixture)
    ABSORBED,
    inject,
    quick_retries,
    stored,
    times_absorbed,
    times_outlasting,
)
from processors.models import ProcessorCustomer
from processors.services import customer_reference_for
from wallets.models import JournalEntry, LedgerAccount

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulated_escrows", "quick_retries")]

RETURN_URL = "http://testserver/back/"
UNAVAILABLE = {"payment_provider_unavailable", "payment_provider_rate_limited"}


def _held(escrow) -> Decimal:
    return LedgerAccount.objects.get(kind=LedgerAccount.Kind.ESCROW, owner_id=str(escrow.pk)).balance


def _wallet(user) -> Decimal:
    account = LedgerAccount.objects.filter(kind=LedgerAccount.Kind.USER_WALLET, user=user, currency="USD").first()
    return account.balance if account else Decimal("0.00")


def _entries(kind) -> int:
    return JournalEntry.objects.filter(kind=kind).count()


def _confirm(escrow, card="pm_card_visa"):
    return services.escrow_payment_confirm(
        escrow=escrow, actor=escrow.client, payment_method=card, return_url=RETURN_URL
    )


def _fund_like_the_webhook(escrow) -> Escrow:
    escrow.refresh_from_db()
    return services.escrow_fund_from_payment(payment_reference=escrow.payment.reference)


# --- Funding an escrow (PaymentIntent create, then confirm) ---------------------------------------


@pytest.mark.parametrize("fault", ABSORBED)
@pytest.mark.parametrize("call", ["POST /v1/payment_intents", "POST /v1/payment_intents/*/confirm"])
def test_funding_goes_through_once_when_the_retries_absorb_the_fault(emulated_escrows, fault, call):
    escrow = escrow_awaiting_payment(amount="100.00")
    inject(emulated_escrows, call, fault, times_absorbed(fault))

    assert _confirm(escrow).status == "succeeded"
    escrow = _fund_like_the_webhook(escrow)

    assert emulated_escrows.fault_counts()[fault] == times_absorbed(fault)
    assert escrow.status == Escrow.Status.FUNDED and _held(escrow) == Decimal("105.00")
    assert len(stored(emulated_escrows, "payment_intents")) == 1
    assert [c["amount"] for c in stored(emulated_escrows, "charges")] == [10500]
    assert _entries(JournalEntry.Kind.ESCROW_FUNDING) == 1


@pytest.mark.parametrize("fault", ABSORBED)
def test_checkout_that_outlasts_the_retries_is_an_error_and_the_next_try_makes_no_second_payment(
    emulated_escrows, fault
):
    escrow = escrow_awaiting_payment(amount="100.00")
    inject(emulated_escrows, "POST /v1/payment_intents", fault, times_outlasting(fault))

    with pytest.raises(ApplicationError) as failed:
        _confirm(escrow)
    assert failed.value.code in UNAVAILABLE and failed.value.message
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT and escrow.payment_id is None  # nothing half-written
    assert stored(emulated_escrows, "charges") == []

    # The client tries again: the same payment (made at Stripe if the answer was lost), paid once.
    assert _confirm(escrow).status == "succeeded"
    escrow = _fund_like_the_webhook(escrow)
    assert escrow.status == Escrow.Status.FUNDED
    assert len(stored(emulated_escrows, "payment_intents")) == 1
    assert len(stored(emulated_escrows, "charges")) == 1


@pytest.mark.parametrize("fault", ["error_500", "rate_limit_429"])
def test_a_refused_confirm_is_a_clear_error_charges_nothing_and_the_client_pays_once_later(
    emulated_escrows, fault, api_client
):
    escrow = escrow_awaiting_payment(amount="100.00")
    inject(emulated_escrows, "POST /v1/payment_intents/*/confirm", fault, times_outlasting(fault))
    api_client.force_authenticate(escrow.client)

    response = api_client.post(f"/api/v1/escrows/{escrow.pk}/confirm/", {"payment_method": "pm_card_visa"})
    assert response.status_code == 503, response.content
    error = response.json()["error"]
    assert error["code"] in UNAVAILABLE and error["message"]
    assert stored(emulated_escrows, "charges") == []
    assert _entries(JournalEntry.Kind.ESCROW_FUNDING) == 0

    paid = api_client.post(f"/api/v1/escrows/{escrow.pk}/confirm/", {"payment_method": "pm_card_visa"})
    assert paid.json() == {"status": "succeeded", "redirect_url": ""}
    assert services.escrows_payment_reconcile(quiet_for=timedelta(0)) == 1  # no webhook in this test
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and len(stored(emulated_escrows, "charges")) == 1


def test_a_charge_whose_answer_was_lost_is_funded_by_the_reconcile_job(emulated_escrows):
    escrow = escrow_awaiting_payment(amount="100.00")
    # Stripe charges the card every time it is asked; the answer never comes back.
    inject(emulated_escrows, "POST /v1/payment_intents/*/confirm", "lost_answer", times_outlasting("lost_answer"))

    # Holdfast asks Stripe what became of the payment and tells the client it went through.
    assert _confirm(escrow).status == "succeeded"
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT  # the processor's word has not come yet
    assert len(stored(emulated_escrows, "charges")) == 1

    # No payment_intent.succeeded reaches Holdfast: the beat job finds the payment and funds it, once.
    assert services.escrows_payment_reconcile(quiet_for=timedelta(0)) == 1
    assert services.escrows_payment_reconcile(quiet_for=timedelta(0)) == 0
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and _held(escrow) == Decimal("105.00")
    assert _entries(JournalEntry.Kind.ESCROW_FUNDING) == 1 and len(stored(emulated_escrows, "charges")) == 1


def test_paying_again_after_a_lost_answer_charges_once(emulated_escrows):
    escrow = escrow_awaiting_payment(amount="100.00")
    checkout = services.escrow_checkout_start(escrow=escrow, actor=escrow.client)
    inject(emulated_escrows, "POST /v1/payment_intents/*/confirm", "lost_answer", times_outlasting("lost_answer"))
    assert _confirm(escrow).status == "succeeded"

    # The client did not believe it and presses "pay" again: Stripe refuses a second confirm of a
    # paid payment, Holdfast reads the payment back and says it is paid.
    assert _confirm(escrow).status == "succeeded"
    assert services.escrows_payment_reconcile(quiet_for=timedelta(0)) == 1
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.payment.reference == checkout.payment_reference
    assert len(stored(emulated_escrows, "charges")) == 1 and _entries(JournalEntry.Kind.ESCROW_FUNDING) == 1


def test_a_checkout_whose_read_back_goes_unanswered_says_nothing_was_charged(emulated_escrows):
    escrow = escrow_awaiting_payment(amount="100.00")
    services.escrow_checkout_start(escrow=escrow, actor=escrow.client)
    inject(emulated_escrows, "GET /v1/payment_intents/*", "lost_answer", times_outlasting("lost_answer"))

    with pytest.raises(ApplicationError) as failed:
        _confirm(escrow)
    # True: the checkout could not read the payment, so it never asked Stripe to charge the card.
    assert failed.value.code == "payment_provider_unavailable" and "Nothing was charged" in failed.value.message
    assert stored(emulated_escrows, "charges") == []
    assert _confirm(escrow).status == "succeeded" and len(stored(emulated_escrows, "charges")) == 1
    assert services.escrows_payment_reconcile(quiet_for=timedelta(0)) == 1


# --- Refunds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ABSORBED)
@pytest.mark.parametrize("amount", [None, Decimal("40.00")], ids=["full", "partial"])
def test_a_refund_goes_through_once_when_the_retries_absorb_the_fault(emulated_escrows, fault, amount):
    escrow = escrow_funded(amount="100.00")
    inject(emulated_escrows, "POST /v1/refunds", fault, times_absorbed(fault))

    refund = services.escrow_refund(escrow=escrow, amount=amount, actor=None, reason="Client complaint")

    assert refund.status == EscrowRefund.Status.SUCCEEDED
    assert emulated_escrows.fault_counts()[fault] == times_absorbed(fault)
    escrow.refresh_from_db()
    expected = Decimal("105.00") if amount is None else amount
    assert escrow.refunded_amount == expected and _held(escrow) == Decimal("105.00") - expected
    assert escrow.status == (Escrow.Status.REFUNDED if amount is None else Escrow.Status.FUNDED)
    assert [r["amount"] for r in stored(emulated_escrows, "refunds")] == [int(expected * 100)]


@pytest.mark.parametrize("fault", ABSORBED)
def test_a_refund_that_outlasts_the_retries_stays_pending_and_the_settle_job_makes_it_once(emulated_escrows, fault):
    escrow = escrow_funded(amount="100.00")
    inject(emulated_escrows, "POST /v1/refunds", fault, times_outlasting(fault))

    with pytest.raises(ApplicationError) as failed:
        services.escrow_refund(escrow=escrow, amount=Decimal("40.00"), actor=None, reason="Part not done")
    assert failed.value.code == "refund_pending" and "completed automatically" in failed.value.message
    refund = escrow.refunds.get()
    assert refund.status == EscrowRefund.Status.PENDING
    # A lost answer: Stripe made the refund. A 500 or 429: it did not.
    assert len(stored(emulated_escrows, "refunds")) == (1 if fault == "lost_answer" else 0)
    escrow.refresh_from_db()
    assert _held(escrow) == Decimal("65.00")  # reserved: no release can pay it out meanwhile

    assert services.escrow_refunds_settle(older_than=timedelta(0)) == 1
    assert services.escrow_refunds_settle(older_than=timedelta(0)) == 0
    refund.refresh_from_db()
    assert refund.status == EscrowRefund.Status.SUCCEEDED and refund.processor_reference.startswith("re_")
    assert [r["amount"] for r in stored(emulated_escrows, "refunds")] == [4000]
    assert _entries(JournalEntry.Kind.ESCROW_REFUND) == 1


# --- Wallet top-ups and withdrawals ----------------------------------------------------------------


def _top_up(client, amount="200.00"):
    made = topups.top_up_create(client=client, amount=amount, currency="USD")
    attempt = topups.top_up_payment_confirm(
        top_up=made, actor=client, payment_method="pm_card_visa", return_url=RETURN_URL
    )
    made.refresh_from_db()
    return made, attempt


def _top_up_funded(client, amount="200.00") -> WalletTopUp:
    made, _ = _top_up(client, amount)
    topups.top_up_fund_from_payment(payment_reference=made.payment.reference)
    made.refresh_from_db()
    return made


@pytest.mark.parametrize("fault", ABSORBED)
def test_a_top_up_goes_through_once_when_the_retries_absorb_the_fault(emulated_escrows, fault):
    client = ClientFactory()
    inject(emulated_escrows, "POST /v1/*", fault, times_absorbed(fault))  # the customer, the payment, the confirm

    made = _top_up_funded(client)

    assert made.status == WalletTopUp.Status.SUCCEEDED and _wallet(client) == Decimal("200.00")
    assert emulated_escrows.fault_counts()[fault] == times_absorbed(fault)
    assert len(stored(emulated_escrows, "customers")) == 1
    assert len(stored(emulated_escrows, "payment_intents")) == 1
    assert [c["amount"] for c in stored(emulated_escrows, "charges")] == [20000]
    assert _entries(JournalEntry.Kind.WALLET_TOP_UP) == 1


def test_a_top_up_charge_whose_answer_was_lost_is_funded_by_the_reconcile_job(emulated_escrows):
    client = ClientFactory()
    inject(emulated_escrows, "POST /v1/payment_intents/*/confirm", "lost_answer", times_outlasting("lost_answer"))

    made, attempt = _top_up(client)
    assert attempt.status == "succeeded"  # read back from Stripe
    assert made.status == WalletTopUp.Status.AWAITING_PAYMENT and _wallet(client) == Decimal("0.00")

    assert topups.top_ups_payment_reconcile(quiet_for=timedelta(0)) == 1
    assert topups.top_ups_payment_reconcile(quiet_for=timedelta(0)) == 0
    made.refresh_from_db()
    assert made.status == WalletTopUp.Status.SUCCEEDED and _wallet(client) == Decimal("200.00")
    assert len(stored(emulated_escrows, "charges")) == 1 and _entries(JournalEntry.Kind.WALLET_TOP_UP) == 1


@pytest.mark.parametrize("fault", ABSORBED)
def test_a_withdrawal_goes_through_once_when_the_retries_absorb_the_fault(emulated_escrows, fault):
    client = ClientFactory()
    made = _top_up_funded(client)
    inject(emulated_escrows, "POST /v1/refunds", fault, times_absorbed(fault))

    withdrawal = topups.top_up_withdraw(top_up=made, actor=client, amount="150.00")

    assert withdrawal.status == WalletWithdrawal.Status.SUCCEEDED
    assert emulated_escrows.fault_counts()[fault] == times_absorbed(fault)
    assert _wallet(client) == Decimal("50.00")
    assert [r["amount"] for r in stored(emulated_escrows, "refunds")] == [15000]


@pytest.mark.parametrize("fault", ABSORBED)
def test_a_withdrawal_that_outlasts_the_retries_is_settled_once_by_the_settle_job(emulated_escrows, fault):
    client = ClientFactory()
    made = _top_up_funded(client)
    inject(emulated_escrows, "POST /v1/refunds", fault, times_outlasting(fault))

    with pytest.raises(ApplicationError) as failed:
        topups.top_up_withdraw(top_up=made, actor=client, amount="150.00")
    assert failed.value.code == "withdrawal_pending" and "completed automatically" in failed.value.message
    withdrawal = WalletWithdrawal.objects.get(top_up=made)
    assert withdrawal.status == WalletWithdrawal.Status.PENDING
    assert _wallet(client) == Decimal("50.00")  # out of the wallet while Stripe is asked: not spendable twice
    assert len(stored(emulated_escrows, "refunds")) == (1 if fault == "lost_answer" else 0)

    assert topups.withdrawals_settle(older_than=timedelta(0)) == 1
    assert topups.withdrawals_settle(older_than=timedelta(0)) == 0
    withdrawal.refresh_from_db()
    assert withdrawal.status == WalletWithdrawal.Status.SUCCEEDED
    assert [r["amount"] for r in stored(emulated_escrows, "refunds")] == [15000]
    assert _wallet(client) == Decimal("50.00") and _entries(JournalEntry.Kind.WALLET_WITHDRAWAL) == 1


# --- Customers and card setups ---------------------------------------------------------------------


@pytest.mark.parametrize("fault", ABSORBED)
def test_a_customer_lost_or_refused_past_the_retries_is_made_once_on_the_next_try(emulated_escrows, fault):
    client = ClientFactory()
    inject(emulated_escrows, "POST /v1/customers", fault, times_outlasting(fault))

    with pytest.raises(ApplicationError) as failed:
        customer_reference_for(user=client)
    assert failed.value.code in UNAVAILABLE
    assert not ProcessorCustomer.objects.filter(user=client).exists()
    assert len(stored(emulated_escrows, "customers")) == (1 if fault == "lost_answer" else 0)

    reference = customer_reference_for(user=client)
    assert [c["id"] for c in stored(emulated_escrows, "customers")] == [reference]


@pytest.mark.parametrize("fault", ABSORBED)
def test_saving_a_card_goes_through_once_when_the_retries_absorb_the_fault(emulated_escrows, fault):
    client = ClientFactory()
    inject(emulated_escrows, "POST /v1/*", fault, times_absorbed(fault))  # customer, SetupIntent, confirm, default

    setup = cards.card_setup_start(user=client)
    result = cards.card_setup_confirm(
        user=client, setup_reference=setup.reference, method="pm_card_visa", return_url=RETURN_URL
    )

    assert result.status == "succeeded" and result.card.startswith("pm_")
    assert emulated_escrows.fault_counts()[fault] == times_absorbed(fault)
    assert len(stored(emulated_escrows, "customers")) == 1
    assert [s["status"] for s in stored(emulated_escrows, "setup_intents")] == ["succeeded"]
    assert [c.reference for c in cards.cards_for_client(user=client)] == [result.card]


# --- Both the charge's answer and Holdfast's read-back lost ----------------------------------------

BOTH_LOST = [
    {"match": "POST /v1/payment_intents/*/confirm", "fault": "lost_answer", "max": 3},
    {"match": "GET /v1/payment_intents/*", "fault": "lost_answer", "max": 3},
]


def test_an_escrow_charge_and_its_read_back_both_unanswered_never_say_nothing_was_charged(emulated_escrows):
    escrow = escrow_awaiting_payment(amount="100.00")
    emulated_escrows.configure_faults(rules=BOTH_LOST)

    with pytest.raises(ApplicationError) as failed:
        _confirm(escrow)  # the checkout makes the payment, the confirm charges it: no answer to either read
    assert emulated_escrows.fault_counts()["lost_answer"] == 6
    assert failed.value.code == "payment_provider_unavailable"
    assert "Nothing was charged" not in failed.value.message and "If your card was charged" in failed.value.message
    assert len(stored(emulated_escrows, "charges")) == 1

    assert services.escrows_payment_reconcile(quiet_for=timedelta(0)) == 1
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and len(stored(emulated_escrows, "charges")) == 1


def test_a_top_up_charge_and_its_read_back_both_unanswered_never_say_nothing_was_charged(emulated_escrows):
    client = ClientFactory()
    emulated_escrows.configure_faults(rules=BOTH_LOST)

    with pytest.raises(ApplicationError) as failed:
        _top_up(client)
    assert emulated_escrows.fault_counts()["lost_answer"] == 6
    assert failed.value.code == "payment_provider_unavailable"
    assert "Nothing was charged" not in failed.value.message and "If your card was charged" in failed.value.message
    assert len(stored(emulated_escrows, "charges")) == 1

    assert topups.top_ups_payment_reconcile(quiet_for=timedelta(0)) == 1
    made = WalletTopUp.objects.get(client=client)
    assert made.status == WalletTopUp.Status.SUCCEEDED and _wallet(client) == Decimal("200.00")
    assert len(stored(emulated_escrows, "charges")) == 1


@pytest.mark.parametrize("call", ["POST /v1/payment_intents", "POST /v1/payment_intents/*/confirm"])
def test_a_rate_limited_checkout_tells_the_client_to_try_again(emulated_escrows, api_client, call):
    escrow = escrow_awaiting_payment(amount="100.00")
    inject(emulated_escrows, call, "rate_limit_429", times_outlasting("rate_limit_429"))
    api_client.force_authenticate(escrow.client)

    response = api_client.post(f"/api/v1/escrows/{escrow.pk}/confirm/", {"payment_method": "pm_card_visa"})
    assert response.status_code == 503, response.content
    error = response.json()["error"]
    # Nothing retries a client's payment for them: the message must not promise it.
    assert error["code"] == "payment_provider_rate_limited"
    assert "try again" in error["message"] and "will be tried again" not in error["message"]
    assert stored(emulated_escrows, "charges") == []


@pytest.mark.parametrize("fault", ABSORBED)
def test_cancelling_an_unpaid_escrow_when_stripe_does_not_answer_then_again(emulated_escrows, fault):
    escrow = escrow_awaiting_payment(amount="100.00")
    checkout = services.escrow_checkout_start(escrow=escrow, actor=escrow.client)
    inject(emulated_escrows, "POST /v1/payment_intents/*/cancel", fault, times_outlasting(fault))

    with pytest.raises(ApplicationError) as failed:
        services.escrow_cancel(escrow=escrow, actor=escrow.client, reason="Changed my mind")
    assert failed.value.code in UNAVAILABLE
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT
    (intent,) = stored(emulated_escrows, "payment_intents")
    assert intent["status"] == ("canceled" if fault == "lost_answer" else "requires_payment_method")

    escrow = services.escrow_cancel(escrow=escrow, actor=escrow.client, reason="Changed my mind")
    assert escrow.status == Escrow.Status.CANCELLED
    assert [p["status"] for p in stored(emulated_escrows, "payment_intents", id=checkout.payment_reference)] == [
        "canceled"
    ]
    assert stored(emulated_escrows, "charges") == [] and _entries(JournalEntry.Kind.ESCROW_FUNDING) == 0


# --- Many payments and refunds under random faults -------------------------------------------------


def _random_faults(scale: float) -> list[dict]:
    return [
        {"match": "* /v1/*", "fault": "lost_answer", "probability": 0.15 * scale},
        {"match": "* /v1/*", "fault": "error_500", "probability": 0.15 * scale},
        {"match": "* /v1/*", "fault": "rate_limit_429", "probability": 0.1 * scale},
    ]


# scale 1: about one request in three fails, and the retries absorb nearly all of it; scale 2: two
# in three, and many calls give up (errors to the client, refunds left pending) until Stripe is well.
@pytest.mark.parametrize(("seed", "scale"), [(1, 1.0), (2, 1.0), (3, 2.0), (4, 2.0)])
def test_payments_and_refunds_under_random_faults_end_with_one_charge_and_one_refund_each(
    emulated_escrows, seed, scale
):
    escrows = [escrow_awaiting_payment(amount="100.00") for _ in range(6)]
    emulated_escrows.configure_faults(seed=seed, rules=_random_faults(scale))

    errors = set()
    for escrow in escrows:  # the client presses "pay" until told it went through (at most 5 times)
        for _ in range(5):
            try:
                _confirm(escrow)
                break
            except ApplicationError as exc:
                errors.add(exc.code)
    for escrow in escrows:
        escrow.refresh_from_db()
        if escrow.payment_id is not None:  # what the webhook would do; its own read may fail too
            with contextlib.suppress(ApplicationError):
                services.escrow_fund_from_payment(payment_reference=escrow.payment.reference)
    for escrow in escrows:
        escrow.refresh_from_db()
        if escrow.status == Escrow.Status.FUNDED:
            with contextlib.suppress(ApplicationError):  # refund_pending: the settle job finishes it
                services.escrow_refund(escrow=escrow, amount=Decimal("40.00"), actor=None, reason="Part not done")
    counts = emulated_escrows.fault_counts()
    assert counts["lost_answer"] and counts["error_500"] and counts["rate_limit_429"]

    # Stripe is well again; the beat jobs run (no waiting time), then whoever was not funded yet
    # refunds as above: every escrow ends funded, charged once, refunded once.
    emulated_escrows.configure_faults()
    services.escrows_payment_reconcile(quiet_for=timedelta(0))
    services.escrow_refunds_settle(older_than=timedelta(0))
    for escrow in escrows:
        escrow.refresh_from_db()
        if escrow.status == Escrow.Status.AWAITING_PAYMENT:
            _confirm(escrow)
            services.escrows_payment_reconcile(quiet_for=timedelta(0))
            escrow.refresh_from_db()
        if not escrow.refunds.exists():
            services.escrow_refund(escrow=escrow, amount=Decimal("40.00"), actor=None, reason="Part not done")

    for escrow in escrows:
        escrow.refresh_from_db()
        assert escrow.status == Escrow.Status.FUNDED and escrow.refunded_amount == Decimal("40.00")
        assert [r.status for r in escrow.refunds.all()] == [EscrowRefund.Status.SUCCEEDED]
        charges = stored(emulated_escrows, "charges", payment_intent=escrow.payment.reference)
        assert [c["amount_refunded"] for c in charges] == [4000]
    assert len(stored(emulated_escrows, "charges")) == len(escrows)
    assert len(stored(emulated_escrows, "refunds")) == len(escrows)
    assert _entries(JournalEntry.Kind.ESCROW_FUNDING) == len(escrows)
    assert errors <= UNAVAILABLE | {"refund_pending", "stripe_payment_intent_unexpected_state"}, errors

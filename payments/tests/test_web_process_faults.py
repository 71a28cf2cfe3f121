"""The web server killed (SIGKILL) in the middle of a client's approval or wallet payment.

A real uvicorn process on the test database serves the request. The test stops the request where it
wants it with a lock of its own: on the task row (the last row the operation's transaction touches,
after the ledger entry and the escrow's new status are written), or on the notifications table (read
only once the operation has committed, before the answer is sent). Then it kills the server, starts
it again, and the client sends the same request again. The API has no Idempotency-Key header: the
approval and the wallet payment are idempotent by state (the escrow row is locked and an escrow
already released or paid is returned as it is), so the retry is the same POST.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import ClientFactory
from core.tests.processes import RowLock, TableLock, WebServer, backend_ended, lock_waiters, wait_for
from marketplace.models import Task
from payments import topups
from payments.models import Escrow, EscrowEvent
from payments.tests.factories import escrow_awaiting_payment, escrow_delivered
from wallets.models import JournalEntry, LedgerAccount
from wallets.selectors import ledger_invariant_violations

pytestmark = pytest.mark.django_db(transaction=True)

# escrow_awaiting_payment(amount="100.00"): the client pays 105.00 (5% service fee); the tasker gets
# 80.00 (20% commission), the platform 25.00.
CLIENT_TOTAL = Decimal("105.00")
TASKER_NET = Decimal("80.00")


@pytest.fixture
def web(stripe_emulator, tmp_path):
    server = WebServer(stripe_emulator_url=stripe_emulator.url, log=tmp_path / "web.log").start()
    yield server
    server.stop()


@pytest.fixture
def requests_in_flight():
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


def wallet_balance(user) -> Decimal:
    account = LedgerAccount.objects.filter(kind=LedgerAccount.Kind.USER_WALLET, user=user, currency="USD").first()
    return account.balance if account else Decimal("0.00")


def post(web: WebServer, path: str, user) -> requests.Response:
    token = AccessToken.for_user(user)
    return requests.post(web.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def entries(escrow: Escrow, kind: str) -> int:
    return JournalEntry.objects.filter(kind=kind, idempotency_key__startswith=f"escrow:{escrow.pk}:").count()


def kill_while_waiting(web: WebServer, lock: RowLock, table: str, answer: Future, *, mid_transaction: bool) -> None:
    """Wait until the request is blocked on ``lock`` (on ``table``), kill the server, release the lock,
    and wait until PostgreSQL has ended the dead server's backend (rolling back whatever it had open)."""
    (waiter,) = wait_for(lock_waiters, timeout=30, what="the request to wait on the test's lock", log=web.log)
    assert table in waiter["query"], waiter
    # Mid-transaction: the waiting transaction has written already (ledger entry, escrow status).
    # After commit: the operation's transaction is over, the statement waiting is a plain read.
    assert waiter["wrote"] is mid_transaction, waiter
    assert not answer.done()
    web.kill()
    with pytest.raises(requests.ConnectionError):
        answer.result(timeout=30)  # the client never got an answer
    lock.release()
    wait_for(lambda: backend_ended(waiter["pid"]), timeout=30, what="the dead server's backend to end")


def top_up(client, amount: str) -> None:
    """Top up by card at the emulator, then do what the payment_intent.succeeded webhook task does."""
    made = topups.top_up_create(client=client, amount=amount, currency="USD")
    topups.top_up_payment_confirm(top_up=made, actor=client, payment_method="pm_card_visa", return_url="http://x/")
    made.refresh_from_db()
    topups.top_up_fund_from_payment(payment_reference=made.payment.reference)


def test_a_server_killed_mid_approval_releases_nothing_and_the_clients_retry_releases_once(web, requests_in_flight):
    """Fault: SIGKILL while the approval's transaction waits on the task row, its ledger entry and the
    escrow's new status written but not committed. Outcome: nothing of it is left (escrow funded, no
    release entry, tasker's wallet empty, task delivered); the client's retry on the restarted server
    releases once: 80.00 in the tasker's wallet, one release entry, the task completed."""
    escrow = escrow_delivered(amount="100.00")
    url = f"/api/v1/escrows/{escrow.pk}/approve/"

    lock = RowLock("marketplace_task", escrow.task_id)
    answer = requests_in_flight.submit(post, web, url, escrow.client)
    kill_while_waiting(web, lock, "marketplace_task", answer, mid_transaction=True)

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.released_at is None
    assert entries(escrow, JournalEntry.Kind.ESCROW_RELEASE) == 0
    assert not EscrowEvent.objects.filter(escrow=escrow, kind=EscrowEvent.Kind.RELEASED).exists()
    assert wallet_balance(escrow.tasker) == Decimal("0.00")
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.DELIVERED
    assert ledger_invariant_violations() == []

    web.start()
    retried = post(web, url, escrow.client)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == Escrow.Status.RELEASED
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.RELEASED and escrow.released_to_tasker == TASKER_NET
    assert entries(escrow, JournalEntry.Kind.ESCROW_RELEASE) == 1
    assert EscrowEvent.objects.filter(escrow=escrow, kind=EscrowEvent.Kind.RELEASED).count() == 1
    assert wallet_balance(escrow.tasker) == TASKER_NET
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.COMPLETED
    assert ledger_invariant_violations() == []


def test_a_server_killed_after_the_approval_committed_answers_the_retry_with_the_release_done_once(
    web, requests_in_flight
):
    """Fault: SIGKILL after the approval committed, before its answer left the server (held on the
    notifications table, which only the after-commit delivery reads). Outcome: the release stands
    (80.00 in the tasker's wallet); the client, who saw no answer, retries on the restarted server and
    gets 200 with the escrow released, and nothing is released twice."""
    escrow = escrow_delivered(amount="100.00")
    url = f"/api/v1/escrows/{escrow.pk}/approve/"

    lock = TableLock("notifications_notification")
    answer = requests_in_flight.submit(post, web, url, escrow.client)
    kill_while_waiting(web, lock, "notifications_notification", answer, mid_transaction=False)

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.RELEASED
    assert entries(escrow, JournalEntry.Kind.ESCROW_RELEASE) == 1
    assert wallet_balance(escrow.tasker) == TASKER_NET

    web.start()
    retried = post(web, url, escrow.client)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == Escrow.Status.RELEASED
    assert entries(escrow, JournalEntry.Kind.ESCROW_RELEASE) == 1
    assert EscrowEvent.objects.filter(escrow=escrow, kind=EscrowEvent.Kind.RELEASED).count() == 1
    assert wallet_balance(escrow.tasker) == TASKER_NET
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.COMPLETED
    assert ledger_invariant_violations() == []


def test_a_server_killed_mid_wallet_payment_takes_nothing_and_the_clients_retry_pays_once(web, requests_in_flight):
    """Fault: SIGKILL while the wallet payment's transaction waits on the task row, the wallet debited
    and the escrow funded but not committed. Outcome: the wallet still holds 200.00, the escrow awaits
    payment, no payment entry; the retry on the restarted server pays once: 95.00 left, the escrow
    funded with 105.00, the task in progress."""
    client = ClientFactory()
    top_up(client, "200.00")
    escrow = escrow_awaiting_payment(amount="100.00", client=client)
    url = f"/api/v1/escrows/{escrow.pk}/fund-from-wallet/"

    lock = RowLock("marketplace_task", escrow.task_id)
    answer = requests_in_flight.submit(post, web, url, client)
    kill_while_waiting(web, lock, "marketplace_task", answer, mid_transaction=True)

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT and escrow.funded_at is None
    assert entries(escrow, JournalEntry.Kind.WALLET_PAYMENT) == 0
    assert wallet_balance(client) == Decimal("200.00")
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.ASSIGNED
    assert ledger_invariant_violations() == []

    web.start()
    retried = post(web, url, client)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == Escrow.Status.FUNDED
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.funding_source == Escrow.FundingSource.WALLET
    assert entries(escrow, JournalEntry.Kind.WALLET_PAYMENT) == 1
    assert wallet_balance(client) == Decimal("200.00") - CLIENT_TOTAL
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.IN_PROGRESS
    assert ledger_invariant_violations() == []


def test_a_server_killed_after_the_wallet_payment_committed_answers_the_retry_without_paying_twice(
    web, requests_in_flight
):
    """Fault: SIGKILL after the wallet payment committed, before its answer left the server. Outcome:
    the payment stands (95.00 left); the client's retry on the restarted server gets 200 with the
    escrow funded, and the wallet is not debited again."""
    client = ClientFactory()
    top_up(client, "200.00")
    escrow = escrow_awaiting_payment(amount="100.00", client=client)
    url = f"/api/v1/escrows/{escrow.pk}/fund-from-wallet/"

    lock = TableLock("notifications_notification")
    answer = requests_in_flight.submit(post, web, url, client)
    kill_while_waiting(web, lock, "notifications_notification", answer, mid_transaction=False)

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED
    assert wallet_balance(client) == Decimal("200.00") - CLIENT_TOTAL

    web.start()
    retried = post(web, url, client)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == Escrow.Status.FUNDED
    assert entries(escrow, JournalEntry.Kind.WALLET_PAYMENT) == 1
    assert wallet_balance(client) == Decimal("200.00") - CLIENT_TOTAL
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.IN_PROGRESS
    assert ledger_invariant_violations() == []

"""PostgreSQL restarted for real (``pg_ctl stop -m fast``, then start) under a burst of page views and
wallet payments sent to a real uvicorn server: every answer while it is down is a clean 503, the same
server answers again once it is back, and every payment is there in full or not at all."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import ClientFactory
from core.database import CODE, RETRY_AFTER_SECONDS
from core.tests.processes import EmbeddedPostgres, WebServer, wait_for
from payments import topups
from payments.models import Escrow
from payments.tests.factories import escrow_awaiting_payment
from wallets.models import JournalEntry, LedgerAccount
from wallets.selectors import ledger_invariant_violations

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        bool(os.environ.get("DATABASE_URL")) or not settings.EMBEDDED_SERVICES,
        reason="restarts the embedded PostgreSQL; DATABASE_URL names an external server this test must not stop",
    ),
]

ESCROWS = 8
TOP_UP = Decimal("1000.00")
CLIENT_TOTAL = Decimal("105.00")  # escrow_awaiting_payment(amount="100.00") plus the 5% service fee
UP, STOPPING, DOWN, RESTARTING = "up", "stopping", "down", "restarting"


@dataclass
class Answer:
    what: str
    sent: str  # the database's phase when the request was sent
    answered: str  # and when its answer (or error) came back
    status: int
    body: str
    retry_after: str | None


@pytest.fixture
def web(stripe_emulator, tmp_path) -> Iterator[WebServer]:
    # Persistent connections, as production runs (DATABASE_CONN_MAX_AGE=60): the restart leaves the
    # server holding a dead one, which the health check must replace.
    env = {"DATABASE_CONN_MAX_AGE": "60"}
    server = WebServer(stripe_emulator_url=stripe_emulator.url, log=tmp_path / "web.log", env=env).start()
    yield server
    server.stop()


def wallet_balance(user) -> Decimal:
    account = LedgerAccount.objects.filter(kind=LedgerAccount.Kind.USER_WALLET, user=user, currency="USD").first()
    return account.balance if account else Decimal("0.00")


def assert_clean(answer: Answer) -> None:
    """Either the normal answer, or the 503 of a database out of reach; never a 500 or a traceback."""
    assert answer.status in (200, 503), answer
    assert "Traceback" not in answer.body and "Server Error (500)" not in answer.body, answer
    if answer.status != 503:
        return
    assert answer.retry_after == str(RETRY_AFTER_SECONDS), answer
    if answer.what.startswith("api"):
        assert json.loads(answer.body)["error"]["code"] == CODE, answer
    else:
        assert "cannot reach its database" in answer.body, answer


def test_a_postgres_restart_mid_burst_is_a_clean_503_then_service_again_with_nothing_half_written(web):
    """Fault: the embedded PostgreSQL stopped (fast: every connection ended, open transactions rolled
    back) while threads send page views and wallet payments, requests going on while it is down,
    then started again. Outcome: every answer is a 200 or a clean 503 (the page's sentence, or the
    API's ``service_unavailable`` with Retry-After), and every one sent and answered while it was
    down is a 503, every one while it is up a 200; the same server then answers normally at once;
    each escrow is paid in full (entry, status) or not at all, the wallet holds exactly the top-up
    minus what was paid, and the client's retries pay every escrow exactly once."""
    client = ClientFactory()
    made = topups.top_up_create(client=client, amount=TOP_UP, currency="USD")
    topups.top_up_payment_confirm(top_up=made, actor=client, payment_method="pm_card_visa", return_url="http://x/")
    made.refresh_from_db()
    topups.top_up_fund_from_payment(payment_reference=made.payment.reference)
    escrows = [escrow_awaiting_payment(amount="100.00", client=client) for _ in range(ESCROWS)]
    browser = Client()
    browser.force_login(client)
    session = {settings.SESSION_COOKIE_NAME: browser.cookies[settings.SESSION_COOKIE_NAME].value}
    bearer = {"Authorization": f"Bearer {AccessToken.for_user(client)}"}

    phase = UP
    answers: list[Answer] = []
    record = threading.Lock()
    unpaid = list(reversed([escrow.pk for escrow in escrows]))
    paid_with_200: set[int] = set()
    stop_burst = threading.Event()

    def send(what: str) -> Answer:
        sent = phase
        if what == "page /":
            call = lambda: requests.get(web.url + "/", timeout=30)  # noqa: E731
        elif what == "page wallet":
            call = lambda: requests.get(web.url + reverse("wallets:wallet"), cookies=session, timeout=30)  # noqa: E731
        else:
            pk = int(what.split()[-1])
            path = f"/api/v1/escrows/{pk}/fund-from-wallet/"
            call = lambda: requests.post(web.url + path, headers=bearer, timeout=30)  # noqa: E731
        response = call()
        answer = Answer(what, sent, phase, response.status_code, response.text, response.headers.get("Retry-After"))
        with record:
            answers.append(answer)
        return answer

    def pay_next() -> None:
        with record:
            if not unpaid:
                return
            pk = unpaid.pop()
        if send(f"api pay {pk}").status == 200:
            paid_with_200.add(pk)
        else:
            with record:
                unpaid.insert(0, pk)  # the client tries again later

    def burst(page: str) -> None:
        while not stop_burst.is_set():
            send(page)
            pay_next()

    postgres = EmbeddedPostgres()
    pool = ThreadPoolExecutor(max_workers=3)
    try:
        running = [pool.submit(burst, page) for page in ("page /", "page wallet", "page /")]
        wait_for(lambda: len(paid_with_200) >= 2, timeout=30, what="payments going through", log=web.log)
        phase = STOPPING
        postgres.stop()
        phase = DOWN
        # Deterministic: one page, one logged-in page and one payment sent and answered while down.
        for what in ("page /", "page wallet", f"api pay {escrows[-1].pk}"):
            assert send(what).status == 503
        wait_for(
            lambda: sum(a.sent == a.answered == DOWN for a in answers) >= 12,
            timeout=30,
            what="the burst to go on while the database is down",
        )
        phase = RESTARTING
        postgres.start()
        phase = UP
        connection.close()  # the test's own connection died with the server
        first = send("page wallet")
        assert first.status == 200, first  # the same server, at once: the dead connection was replaced
        stop_burst.set()
        for future in running:
            future.result(timeout=60)
    finally:
        # Whatever failed: the burst ends and the server is up again, or every later test breaks.
        stop_burst.set()
        pool.shutdown(wait=True)
        if not postgres.running():
            postgres.start()
        connection.close()

    for answer in answers:
        assert_clean(answer)
        if answer.sent == answer.answered == DOWN:
            assert answer.status == 503, answer
        if answer.sent == answer.answered == UP:  # before the stop, or after the start
            assert answer.status == 200, answer
    assert sum(a.status == 503 for a in answers if a.what.startswith("api")) >= 1
    assert sum(a.status == 503 for a in answers if a.what.startswith("page")) >= 2

    # Nothing half-written: each escrow funded with its one entry, or awaiting payment with none.
    funded = 0
    for escrow in Escrow.objects.filter(pk__in=[e.pk for e in escrows]):
        entry_count = JournalEntry.objects.filter(idempotency_key=f"escrow:{escrow.pk}:funding").count()
        if escrow.status == Escrow.Status.FUNDED:
            assert entry_count == 1 and escrow.funding_source == Escrow.FundingSource.WALLET
            funded += 1
        else:
            assert escrow.status == Escrow.Status.AWAITING_PAYMENT and entry_count == 0
            assert escrow.pk not in paid_with_200
    assert wallet_balance(client) == TOP_UP - CLIENT_TOTAL * funded
    assert ledger_invariant_violations() == []

    # The client pays what is left: every escrow paid exactly once.
    for pk in list(unpaid):
        assert send(f"api pay {pk}").status == 200
    assert Escrow.objects.filter(pk__in=[e.pk for e in escrows], status=Escrow.Status.FUNDED).count() == ESCROWS
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.WALLET_PAYMENT).count() == ESCROWS
    assert wallet_balance(client) == TOP_UP - CLIENT_TOTAL * ESCROWS
    assert ledger_invariant_violations() == []

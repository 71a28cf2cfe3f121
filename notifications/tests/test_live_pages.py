"""Live page parts in a real browser (headless Chromium): the client keeps the dispute page open;
the tasker's message appears in its thread, and the bell counts it, without a reload.

The app runs under uvicorn (ASGI) in this process with the real Redis channel layer, as in
``e2e/test_live_updates.py``, whose server and browser fixtures this uses.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from disputes import services
from disputes.tests.factories import dispute_opened
from e2e.conftest import browser  # noqa: F401  (fixture)
from e2e.test_live_updates import _page, asgi_server, contexts  # noqa: F401  (fixtures)
from payments.tests.factories import escrow_funded

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_message_appears_in_the_other_partys_open_dispute_page(browser, asgi_server, stripe_emulator, contexts):  # noqa: F811
    escrow = escrow_funded(amount="100.00")
    dispute = dispute_opened(escrow, by=escrow.client)

    watcher = _page(browser, asgi_server, escrow.client, contexts)
    watcher.goto(f"/disputes/{dispute.pk}/")
    expect(watcher.locator("html")).to_have_attribute("data-live", "open")
    expect(watcher.locator("ol.thread")).to_contain_text("No messages yet")
    watcher.evaluate("window.__notReloaded = true")
    unread = escrow.client.notifications.filter(read_at__isnull=True, in_app=True).count()  # the payment held, so far

    # The tasker answers (committed: the delivery task runs, the page's topic is pushed).
    services.dispute_message_post(dispute=dispute, actor=escrow.tasker, body="The shelves are level; photo coming.")

    expect(watcher.locator("ol.thread")).to_contain_text("The shelves are level; photo coming.", timeout=30_000)
    expect(watcher.locator(".bell [data-live-unread]")).to_have_text(str(unread + 1))
    assert watcher.evaluate("window.__notReloaded") is True

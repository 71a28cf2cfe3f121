"""Live updates in a real browser: the escrow page switches to "Funded" without a reload when the
payment made on another page is confirmed by Stripe's webhook, and falls back to polling when the
socket is down.

The app runs under uvicorn (ASGI, as in ``make run``) in this process, with the real Redis channel
layer; the Stripe emulator delivers its webhooks to it.
"""

from __future__ import annotations

import io
import re
import socket
import threading
import time

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from e2e.conftest import CHROMIUM_ARGS, LAPTOP, session_cookie  # noqa: F401
from payments.models import Escrow
from payments.tests.factories import escrow_awaiting_payment, escrow_pay

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def asgi_server(transactional_db):
    """config.asgi's application under uvicorn, static files served from the finders (as DEBUG would)."""
    import uvicorn
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from notifications.routing import websocket_urlpatterns

    app = ProtocolTypeRouter(
        {
            "http": ASGIStaticFilesHandler(get_asgi_application()),
            "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
        }
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _page(browser, base_url: str, user, pages: list):
    context = browser.new_context(base_url=base_url, viewport=LAPTOP)
    context.set_default_timeout(20_000)
    context.add_cookies([session_cookie(user, base_url)])
    page = context.new_page()
    pages.append(context)
    return page


@pytest.fixture
def contexts():
    opened: list = []
    yield opened
    for context in opened:
        context.close()


def test_the_escrow_page_switches_to_funded_without_a_reload(browser, asgi_server, stripe_emulator, contexts):
    call_command("stripe_setup", site_url=asgi_server, stdout=io.StringIO())  # webhooks come to this server
    escrow = escrow_awaiting_payment(amount="100.00")

    # The client keeps the escrow's page open in one tab…
    watcher = _page(browser, asgi_server, escrow.client, contexts)
    watcher.goto(f"/payments/escrows/{escrow.pk}/")
    expect(watcher.locator("html")).to_have_attribute("data-live", "open")
    panel = watcher.locator(".escrow-panel .badge").first
    expect(panel).to_have_text(re.compile("awaiting payment", re.I))
    watcher.evaluate("window.__notReloaded = true")

    # …and pays in another.
    payer = _page(browser, asgi_server, escrow.client, contexts)
    payer.goto(f"/payments/escrows/{escrow.pk}/checkout/")
    payer.locator("input[name=payment_method][value=pm_card_visa]").check()
    payer.get_by_role("button", name=re.compile("pay", re.I)).first.click()
    assert stripe_emulator.wait_for_deliveries(timeout=30)

    # Stripe's webhook funds the escrow; the first tab shows it with no reload.
    expect(panel).to_have_text(re.compile("funded", re.I), timeout=30_000)
    expect(watcher.locator(".escrow-panel")).to_contain_text("held in escrow")
    assert watcher.evaluate("window.__notReloaded") is True
    assert Escrow.objects.get(pk=escrow.pk).status == Escrow.Status.FUNDED
    # And the bell counts the new notification, also without a reload.
    expect(watcher.locator(".bell [data-live-unread]")).to_have_text("1")


def test_with_the_socket_down_the_page_polls(browser, asgi_server, stripe_emulator, contexts, settings):
    settings.LIVE_POLL_SECONDS = 2
    escrow = escrow_awaiting_payment(amount="100.00")
    watcher = _page(browser, asgi_server, escrow.client, contexts)
    watcher.route_web_socket(re.compile(r".*/ws/live/"), lambda ws: ws.close())  # the socket never stays up
    watcher.goto(f"/payments/escrows/{escrow.pk}/checkout/")
    expect(watcher.locator("html")).to_have_attribute("data-live", "polling")
    watcher.evaluate("window.__notReloaded = true")

    escrow_pay(escrow)  # funded while the page has no socket

    expect(watcher.locator(".escrow-panel .badge").first).to_have_text(re.compile("funded", re.I), timeout=30_000)
    expect(watcher.get_by_text("there is nothing to pay")).to_be_visible()
    assert watcher.evaluate("window.__notReloaded") is True

"""Taskers with money in their wallet and a payout account, reached through the real services and
the Stripe emulator (over HTTP, through the stripe SDK)."""

from __future__ import annotations

from decimal import Decimal

import requests
from django.conf import settings
from django.contrib.auth.models import Group

from accounts.roles import FINANCE, SUPPORT, staff_groups_sync
from accounts.tests.factories import TaskerFactory, UserFactory
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments import escrow as escrow_services
from payments.tests.factories import escrow_pay
from payouts import services
from payouts.models import PayoutAccount

DAY = 86400


def emulator(path: str, **data) -> requests.Response:
    response = requests.post(settings.STRIPE_EMULATOR_URL + path, data=data, timeout=10)
    assert response.status_code == 200, response.text
    return response


def earn(tasker, amount: str = "100.00", currency: str = "USD"):
    """A client pays ``amount`` for a task the tasker did, and it is released: the tasker's wallet
    gets the net (80 % with the default commission). Returns the escrow."""
    from djmoney.money import Money

    from marketplace import services as market
    from payments.models import Escrow

    task = TaskFactory(budget=Money(Decimal(amount), currency))
    offer = OfferFactory(task=task, tasker=tasker, amount=Money(Decimal(amount), currency))
    market.offer_accept(offer=offer, actor=task.client)
    escrow = escrow_pay(Escrow.objects.get(offer=offer))
    return escrow_services.escrow_release(escrow=escrow, actor=None, reason="Approved")


def onboard(tasker, *, bank: str = "btok_us_verified") -> PayoutAccount:
    """The tasker sets up payouts: the account is made, Stripe's onboarding completed (the
    emulator's hosted page, without a browser), and Holdfast reads the account back."""
    account = services.payout_account_get_or_create(user=tasker)
    emulator(f"/emulator/accounts/{account.reference}/complete_onboarding", external_account=bank)
    return services.payout_account_sync(reference=account.reference)


def platform_funds_available(stripe_emulator) -> None:
    """Card funds settle at Stripe two days after the charge."""
    stripe_emulator.advance_clock(3 * DAY)


def bank_answers(stripe_emulator) -> None:
    """The emulator's clock moves on until bank payouts arrive (or fail)."""
    stripe_emulator.advance_clock(3 * DAY)


def finance_user(*, tasker: bool = False, **kwargs):
    staff_groups_sync()
    user = (TaskerFactory if tasker else UserFactory)(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=FINANCE))
    return user


def tasker_earning(amount: str = "100.00", *, bank: str = "btok_us_verified"):
    tasker = TaskerFactory()
    earn(tasker, amount)
    onboard(tasker, bank=bank)
    return tasker


def connect_events(stripe_emulator, *types: str) -> list[dict]:
    """The Connect events the emulator sent (oldest first), as its webhook deliveries carry them."""
    with stripe_emulator.store.lock:
        events = sorted(stripe_emulator.store.coll("events").values(), key=lambda e: e["_seq"])
        return [stripe_emulator.store.render(e) for e in events if e["account"] and (not types or e["type"] in types)]


def deliver(events: list[dict]) -> None:
    """What the webhook task does with each stored event: the neutral event to its handler."""
    from processors.registry import event_dispatch
    from processors.stripe.adapter import event_from_stripe

    for event in events:
        neutral = event_from_stripe(event_id=event["id"], event_type=event["type"], obj=event["data"]["object"])
        if neutral is not None:
            event_dispatch(neutral)


def support_user():
    staff_groups_sync()
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT))
    return user

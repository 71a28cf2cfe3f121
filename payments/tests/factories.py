"""Escrows in the states tests need, reached through the real services (and the emulator for money)."""

from decimal import Decimal

import factory
from djmoney.money import Money

from marketplace import services as market
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments import escrow as services
from payments.models import Escrow, FeePolicy


class FeePolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeePolicy

    currency = "USD"
    version = factory.Sequence(lambda n: n + 1)
    is_active = True


def escrow_awaiting_payment(*, amount: str = "100.00", currency: str = "USD", client=None) -> Escrow:
    task_kwargs = {"budget": Money(Decimal(amount), currency)}
    if client is not None:
        task_kwargs["client"] = client
    task = TaskFactory(**task_kwargs)
    offer = OfferFactory(task=task, amount=Money(Decimal(amount), currency))
    market.offer_accept(offer=offer, actor=task.client)
    return Escrow.objects.get(offer=offer)


def escrow_pay(escrow: Escrow, *, card: str = "pm_card_visa") -> Escrow:
    """Pay by card at the emulator, then do what the ``payment_intent.succeeded`` webhook task does."""
    services.escrow_payment_confirm(
        escrow=escrow, actor=escrow.client, payment_method=card, return_url="http://testserver/"
    )
    escrow.refresh_from_db()
    services.escrow_fund_from_payment(payment_reference=escrow.payment.reference)
    escrow.refresh_from_db()
    return escrow


def escrow_funded(**kwargs) -> Escrow:
    return escrow_pay(escrow_awaiting_payment(**kwargs))


def escrow_delivered(**kwargs) -> Escrow:
    escrow = escrow_funded(**kwargs)
    market.task_mark_delivered(task=escrow.task, actor=escrow.tasker)
    escrow.refresh_from_db()
    return escrow

"""One money format, one date format with its zone, wording that follows the state, human references."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from core.money import format_money
from core.templatetags.holdfast import format_when
from marketplace import services as market
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments.models import Escrow
from payments.tests.escrow_helpers import accepted_escrow, delivered_task, fund

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

DATE = re.compile(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC\b")


def test_money_and_dates_have_one_format(settings):
    assert format_money(Decimal("1234.5"), "usd") == "1,234.50 USD"
    assert format_money(Money(Decimal("140"), "EUR")) == "140.00 EUR"
    assert format_money(Decimal("-20"), "GBP") == "-20.00 GBP"
    assert format_money(Decimal("1500"), "JPY") == "1,500 JPY"
    moment = timezone.datetime(2026, 12, 8, 3, 23, tzinfo=timezone.get_fixed_timezone(0))
    assert format_when(moment) == "8 Dec 2026, 03:23 UTC"
    settings.TIME_ZONE = "Europe/Paris"
    timezone.deactivate()
    assert format_when(moment) == "8 Dec 2026, 04:23 CET"


def test_task_pages_show_one_money_format_and_dated_timelines(client):
    task = TaskFactory(budget=Money(Decimal("1400.00"), "USD"))
    OfferFactory(task=task, amount=Money(Decimal("140.00"), "USD"))
    client.force_login(task.client)
    for url in (task.get_absolute_url(), reverse("marketplace:my_tasks"), reverse("marketplace:task_list")):
        body = client.get(url).content.decode()
        assert "$" not in body, url
        assert "1,400.00 USD" in body, url
        assert " ago" not in body and DATE.search(body), url
    assert "140.00 USD" in client.get(task.get_absolute_url()).content.decode()


def test_wording_follows_the_escrow(client):
    task = delivered_task()
    escrow = Escrow.objects.get(task=task)
    tasker = Client()
    tasker.force_login(escrow.tasker)
    body = tasker.get(task.get_absolute_url()).content.decode()
    assert "You can start the work" not in body and "The client is reviewing your delivery." in body
    assert DATE.search(body.split("Releases automatically on")[1][:80])

    client.force_login(task.client)
    body = client.get(task.get_absolute_url()).content.decode()
    assert "Total paid" in body and "Total to pay" not in body
    market.task_complete(task=task, actor=task.client)
    body = client.get(task.get_absolute_url()).content.decode()
    assert "Total paid" in body and "Total to pay" not in body
    assert "You received" in tasker.get(task.get_absolute_url()).content.decode()

    unpaid = accepted_escrow()
    client.force_login(unpaid.client)
    assert "Total to pay" in client.get(unpaid.task.get_absolute_url()).content.decode()


def test_statements_name_the_task_not_an_internal_label(client):
    task = delivered_task()
    market.task_complete(task=task, actor=task.client)
    escrow = Escrow.objects.get(task=task)
    client.force_login(escrow.tasker)
    body = client.get(reverse("wallets:wallet")).content.decode()
    assert "payments.escrow:" not in body
    assert f'<a href="{task.get_absolute_url()}">{task.title}</a>' in body
    assert "80.00 USD" in body


def test_the_back_office_names_offers_in_words(admin_client):
    offer = OfferFactory(amount=Money(Decimal("140.00"), "USD"))
    assert str(offer) == f"140.00 USD by {offer.tasker.get_short_name()} on “{offer.task.title}”"
    body = admin_client.get(reverse("admin:marketplace_offer_change", args=[offer.pk])).content.decode()
    assert f"140.00 USD by {offer.tasker.get_short_name()}" in body and " on 5 by " not in body


def test_admin_statement_names_the_task_and_keeps_the_reference(admin_client):
    escrow = fund(accepted_escrow())
    from wallets.models import LedgerAccount

    account = LedgerAccount.objects.get(kind=LedgerAccount.Kind.ESCROW, owner_id=str(escrow.pk))
    url = reverse("admin:wallets_ledgeraccount_statement", args=[account.pk])
    body = admin_client.get(url).content.decode()
    assert escrow.task.title in body and f"payments.escrow:{escrow.pk}" in body

"""Fees shown before committing: commission and net when bidding, service fee and total when accepting."""

import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from djmoney.money import Money

from accounts.tests.factories import TaskerFactory
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments.fees import FeeRules, fee_breakdown
from payments.services import fee_policy_publish

pytestmark = pytest.mark.django_db

HARNESS = Path(__file__).resolve().parents[2] / "core" / "tests" / "js" / "fee_preview_harness.js"


def test_the_tasker_sees_commission_and_net_for_the_budget_when_bidding(client):
    task = TaskFactory(budget=Money(Decimal("120.00"), "USD"))  # 20 % commission by default
    client.force_login(TaskerFactory())
    body = client.get(task.get_absolute_url()).content.decode()
    assert "Holdfast's commission is 24.00 USD" in body and "you would receive <strong>96.00 USD</strong>" in body
    assert 'data-commission-percent="20.00"' in body and "js/fee_preview.js" in body
    assert "service fee" not in body  # the client's fee is not the tasker's business


def test_the_preview_follows_the_active_fee_policy(client):
    fee_policy_publish(
        currency="USD", actor=None, client_fee_percent=Decimal("5.00"), commission_percent=Decimal("10.00")
    )
    task = TaskFactory(budget=Money(Decimal("120.00"), "USD"))
    client.force_login(TaskerFactory())
    body = client.get(task.get_absolute_url()).content.decode()
    assert "commission is 12.00 USD" in body and "<strong>108.00 USD</strong>" in body


def test_the_client_sees_fee_and_total_on_each_offer_and_in_the_accept_confirmation(client):
    offer = OfferFactory(amount=Money(Decimal("140.00"), "USD"))
    client.force_login(offer.task.client)
    body = client.get(offer.task.get_absolute_url()).content.decode()
    assert "you pay 147.00 USD with the 7.00 USD service fee" in body
    assert "You will pay 147.00 USD: the offer plus the 7.00 USD service fee" in body
    assert "commission" not in body.lower()  # the tasker's commission is not the client's business


@pytest.mark.parametrize(
    "rules",
    [
        FeeRules(client_fee_percent=Decimal("5"), commission_percent=Decimal("20.00")),
        FeeRules(client_fee_percent=Decimal("5"), commission_percent=Decimal("12.50"), commission_min=Decimal("3.00")),
        FeeRules(client_fee_percent=Decimal("5"), commission_percent=Decimal("33.33"), commission_max=Decimal("50.00")),
    ],
)
def test_the_typed_amount_preview_computes_as_the_server_does(rules, node):
    amounts = ["5", "5.01", "12.34", "99.99", "100", "333.33", "1234.5", "9999.99", "10000"]
    cases = [
        {
            "rules": {
                "commission_percent": str(rules.commission_percent),
                "commission_min": str(rules.commission_min),
                "commission_max": "" if rules.commission_max is None else str(rules.commission_max),
            },
            "places": 2,
            "currency": "USD",
            "amount": amount,
        }
        for amount in [*amounts, "", "abc", "1.234", "-3"]
    ]
    run = subprocess.run([node, str(HARNESS)], input=json.dumps(cases), capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)
    for amount, result in zip(amounts, shown, strict=False):
        expected = fee_breakdown(amount=Decimal(amount), currency="USD", rules=rules)
        assert (result["commission"], result["net"]) == (
            f"{expected.commission:,.2f} USD",
            f"{expected.tasker_net:,.2f} USD",
        ), amount
        assert result["hidden"] is False
    assert all(result["hidden"] for result in shown[len(amounts) :])  # nothing for what is not a price

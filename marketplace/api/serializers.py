"""Serializers shared by the marketplace API views. Money is ``{"amount": "120.00", "currency": "USD"}``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, inline_serializer
from moneyed import Money
from rest_framework import serializers

from core.api import AmountField, CurrencyField
from core.money import quantize

MONEY_SCHEMA = inline_serializer(
    name="Money",
    fields={
        "amount": serializers.CharField(help_text='Decimal string in major units, e.g. "120.00".'),
        "currency": serializers.CharField(help_text="ISO 4217 code: USD, EUR or GBP."),
    },
)


class MoneyInputSerializer(serializers.Serializer):
    amount = AmountField()
    currency = CurrencyField()


class MoneyPatchSerializer(serializers.Serializer):
    amount = AmountField(required=False)
    currency = CurrencyField(required=False, allow_blank=True, help_text="Blank or left out: unchanged.")


@extend_schema_field(MONEY_SCHEMA)
class MoneyOutputField(serializers.Field):
    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Money) -> dict[str, str]:
        currency = str(value.currency)
        return {"amount": str(quantize(value.amount, currency)), "currency": currency}


class PersonOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        profile = getattr(user, "profile", None)
        return profile.public_name if profile else user.get_short_name()


class TaskOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    budget = MoneyOutputField()
    client = PersonOutputSerializer()
    offer_count = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Pending offers (in lists only)."
    )
    accepted_offer_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    assigned_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


class OfferOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    task_id = serializers.IntegerField()
    tasker = PersonOutputSerializer()
    amount = MoneyOutputField()
    message = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    rejected_at = serializers.DateTimeField(allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)


# Browsing is the hottest read: a page of tasks is written out by hand, field for field what
# ``TaskOutputSerializer`` (still the schema) gives, through the same fields' formatting; a test
# compares the two.
_MONEY = MoneyOutputField()
_TIME = serializers.DateTimeField()
_PERSON = PersonOutputSerializer()


def _time(value) -> str | None:
    return None if value is None else _TIME.to_representation(value)


def task_list_data(tasks) -> list[dict]:
    return [
        {
            "id": task.id,
            "title": task.title,
            "description": task.description,
            "category": task.category,
            "status": task.status,
            "budget": _MONEY.to_representation(task.budget),
            "client": {"id": task.client.id, "name": _PERSON.get_name(task.client)},
            "offer_count": getattr(task, "offer_count", None),
            "accepted_offer_id": task.accepted_offer_id,
            "created_at": _time(task.created_at),
            "updated_at": _time(task.updated_at),
            "assigned_at": _time(task.assigned_at),
            "started_at": _time(task.started_at),
            "delivered_at": _time(task.delivered_at),
            "completed_at": _time(task.completed_at),
            "cancelled_at": _time(task.cancelled_at),
        }
        for task in tasks
    ]

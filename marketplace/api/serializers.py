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

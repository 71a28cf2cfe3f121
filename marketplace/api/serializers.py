"""Serializers shared by the marketplace API views. Money is ``{"amount": "120.00", "currency": "USD"}``."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field, inline_serializer
from moneyed import Money
from rest_framework import serializers

from core.money import AMOUNT_PATTERN, quantize

MONEY_SCHEMA = inline_serializer(
    name="Money",
    fields={
        "amount": serializers.CharField(help_text='Decimal string in major units, e.g. "120.00".'),
        "currency": serializers.CharField(help_text="ISO 4217 code: USD, EUR or GBP."),
    },
)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": AMOUNT_PATTERN, "example": "120.00"},
            {"type": "number"},
        ],
        "description": "An amount in major units: ASCII digits with at most one dot and no separators, "
        'as a string ("1200.50") or a JSON number.',
    }
)
class AmountField(serializers.Field):
    """A string in ``core.money.AMOUNT_PATTERN`` or a JSON number; ``parse_amount`` in the services
    checks the format, sign, precision and size."""

    default_error_messages = {"invalid": 'Send the amount as a string like "120.00" or as a number.'}

    def to_internal_value(self, data: object) -> object:
        if isinstance(data, bool) or not isinstance(data, str | int | float | Decimal):
            self.fail("invalid")
        return data

    def to_representation(self, value: object) -> str:
        return str(value)


class MoneyInputSerializer(serializers.Serializer):
    amount = AmountField()
    currency = serializers.CharField(allow_blank=True, max_length=10)


class MoneyPatchSerializer(serializers.Serializer):
    amount = AmountField(required=False)
    currency = serializers.CharField(required=False, allow_blank=True, max_length=10)


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

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import supported_currencies
from wallets.models import JournalEntry


class WalletBalanceOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    available = serializers.DecimalField(max_digits=18, decimal_places=2)
    held_in_escrow = serializers.DecimalField(max_digits=18, decimal_places=2)
    pending_as_tasker = serializers.DecimalField(max_digits=18, decimal_places=2)


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}],
        "description": "YYYY-MM-DD, inclusive; blank for no limit.",
    }
)
class OptionalDateField(serializers.DateField):
    """A date filter; blank is the same as left out (DRF's rule for optional query parameters)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)


class StatementFilterInputSerializer(serializers.Serializer):
    # Blank is the same as left out, as for every query parameter: the schema says so.
    currency = serializers.ChoiceField(
        choices=[], required=False, allow_blank=True, help_text="Defaults to the platform currency."
    )
    kind = serializers.ChoiceField(choices=JournalEntry.Kind.choices, required=False, allow_blank=True)
    date_from = OptionalDateField()
    date_to = OptionalDateField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = supported_currencies()

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": "The end date must be on or after the start date."})
        return attrs


class StatementRowOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="posting_id")
    entry_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    memo = serializers.CharField()
    reference = serializers.CharField()
    currency = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    balance_after = serializers.DecimalField(max_digits=18, decimal_places=2)

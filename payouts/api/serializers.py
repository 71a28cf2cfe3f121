"""Payout API output: amounts are decimal strings in major units with their ``currency``."""

from __future__ import annotations

from rest_framework import serializers

from payouts.models import Payout, PayoutAccount, PayoutEvent
from payouts.selectors import disabled_reason_in_words, requirements_in_words


def _amount(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True, **kwargs)


class PayoutAccountOutputSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="The account at Stripe (acct_…).")
    status = serializers.ChoiceField(choices=PayoutAccount.Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    country = serializers.CharField()
    default_currency = serializers.CharField()
    details_submitted = serializers.BooleanField()
    charges_enabled = serializers.BooleanField()
    payouts_enabled = serializers.BooleanField()
    requirements_due = serializers.ListField(child=serializers.CharField(), help_text="Stripe's own keys.")
    requirements = serializers.SerializerMethodField(help_text="What Stripe still needs, in words.")
    disabled_reason = serializers.SerializerMethodField()
    bank_name = serializers.CharField()
    bank_last4 = serializers.CharField(help_text="Never the full account number.")
    bank_currency = serializers.CharField()
    bank_problem = serializers.CharField(help_text="The bank's reason the last payout was returned, until fixed.")
    schedule = serializers.ChoiceField(choices=PayoutAccount.Schedule.choices)
    schedule_currency = serializers.CharField()
    schedule_threshold = _amount()
    schedule_next_at = serializers.DateTimeField(allow_null=True)
    onboarded_at = serializers.DateTimeField(allow_null=True)
    synced_at = serializers.DateTimeField(allow_null=True)

    def get_requirements(self, account: PayoutAccount) -> list[str]:
        return requirements_in_words(account.requirements_due)

    def get_disabled_reason(self, account: PayoutAccount) -> str:
        return disabled_reason_in_words(account.disabled_reason)


class PayoutEventOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PayoutEvent.Kind.choices)
    label = serializers.CharField(source="get_kind_display")
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class StatementLineOutputSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="What the money was for (the task's title).")
    url = serializers.CharField()
    credited_at = serializers.DateTimeField()
    amount = _amount()
    currency = serializers.CharField()


class PayoutOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Payout.Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    waiting = serializers.CharField(help_text="Why processing waits (platform_funds, …), or empty.")
    currency = serializers.CharField()
    amount = _amount(help_text="Taken from the wallet.")
    fee = _amount()
    net = _amount(help_text="Sent to the bank.")
    attempt = serializers.IntegerField()
    scheduled = serializers.BooleanField()
    needs_approval = serializers.BooleanField()
    failure_code = serializers.CharField()
    failure_message = serializers.CharField()
    hold_reason = serializers.CharField()
    requested_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    in_transit_at = serializers.DateTimeField(allow_null=True)
    arrival_estimate = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


class PayoutDetailOutputSerializer(PayoutOutputSerializer):
    events = PayoutEventOutputSerializer(many=True, source="timeline", help_text="The timeline, oldest first.")
    statement = StatementLineOutputSerializer(
        many=True, source="statement_lines", help_text="Where the money came from, oldest first."
    )


class PayoutOptionOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    available = _amount()
    minimum = _amount()
    fee = _amount()
    can_request = serializers.BooleanField()

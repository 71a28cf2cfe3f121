"""Forms of the payout pages and the payout console."""

from __future__ import annotations

from django import forms

from core.money import supported_currencies
from payouts.models import PayoutAccount


def _currencies() -> list[tuple[str, str]]:
    return [(c, c) for c in supported_currencies()]


class PayoutRequestForm(forms.Form):
    amount = forms.CharField(
        max_length=20,
        label="Amount to pay out",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text="Digits and at most one dot, like 120.50.",
    )
    currency = forms.ChoiceField(choices=_currencies)


class PayoutScheduleForm(forms.Form):
    schedule = forms.ChoiceField(choices=PayoutAccount.Schedule.choices, label="Pay me out")
    currency = forms.ChoiceField(choices=_currencies)
    threshold = forms.CharField(
        max_length=20,
        required=False,
        label="Only when my available balance is at least",
        help_text="Leave empty for any amount above the minimum payout.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))

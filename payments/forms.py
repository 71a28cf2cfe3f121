"""Forms for the payment pages and the back office. They shape input; the services decide."""

from __future__ import annotations

from django import forms

# The emulator's test payment methods (Stripe's own names), offered only when payments are emulated.
TEST_CARDS = [
    ("pm_card_visa", "Visa (success)"),
    ("pm_card_mastercard", "Mastercard (success)"),
    ("pm_card_chargeDeclined", "Declined card"),
    ("pm_card_chargeDeclinedInsufficientFunds", "Insufficient funds"),
    ("pm_card_authenticationRequired", "3-D Secure card"),
]


class TestCardForm(forms.Form):
    payment_method = forms.ChoiceField(
        label="Test card", choices=TEST_CARDS, initial="pm_card_visa", widget=forms.RadioSelect
    )


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount to refund",
        required=False,
        min_value=0,
        # As on the escrow's amount columns. Without max_digits "1e30" passes the form and the
        # service's rounding raises InvalidOperation (a 500) instead of refusing it.
        max_digits=14,
        decimal_places=2,
        help_text="Leave empty to refund everything still held.",
    )
    reason = forms.CharField(label="Reason", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))

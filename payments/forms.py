"""Forms for the payment pages and the back office. They shape input; the services decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from core.money import supported_currencies
from payments.models import FeePolicy

# The emulator's test payment methods (Stripe's own names), offered only when payments are emulated.
TEST_CARDS = [
    ("pm_card_visa", "Visa (success)"),
    ("pm_card_mastercard", "Mastercard (success)"),
    ("pm_card_chargeDeclined", "Declined card"),
    ("pm_card_chargeDeclinedInsufficientFunds", "Insufficient funds"),
    ("pm_card_authenticationRequired", "3-D Secure card"),
]


# The figures of a fee policy, in the order the editor shows them.
RATE_FIELDS = [
    "client_fee_percent",
    "client_fee_fixed",
    "client_fee_min",
    "client_fee_max",
    "commission_percent",
    "commission_min",
    "commission_max",
]


class TestCardForm(forms.Form):
    payment_method = forms.ChoiceField(
        label="Test card", choices=TEST_CARDS, initial="pm_card_visa", widget=forms.RadioSelect
    )


class PayForm(forms.Form):
    """Pay with a saved card (the default first) or, with the emulator, a test card; optionally
    keep a new card. Its choices are the client's own cards, so another client's card id is refused."""

    payment_method = forms.ChoiceField(label="Card", widget=forms.RadioSelect)
    save_card = forms.BooleanField(label="Save this card for later payments", required=False)

    def __init__(self, *args, saved_cards=(), test_cards: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        saved = [
            (c.reference, f"{c.label} · expires {c.expiry}{' (expired)' if c.expired else ''}") for c in saved_cards
        ]
        self.saved_references = {c.reference for c in saved_cards}
        self.fields["payment_method"].choices = saved + (TEST_CARDS if test_cards else [])
        self.fields["payment_method"].initial = saved[0][0] if saved else "pm_card_visa"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("payment_method") in self.saved_references:
            cleaned["save_card"] = False  # already saved
        return cleaned


class TopUpForm(forms.Form):
    amount = forms.DecimalField(label="Amount", min_value=0, max_digits=14, decimal_places=2)
    currency = forms.ChoiceField(label="Currency", choices=lambda: [(c, c) for c in supported_currencies()])


class WithdrawForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount", required=False, min_value=0, max_digits=14, decimal_places=2, help_text="Empty: all of it."
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


def _currency_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in supported_currencies()]


class FeePolicyAdminForm(forms.ModelForm):
    """The back office's fee policy editor.

    Says what is wrong with each figure in a sentence on its field, before the database
    constraints behind them (``feepolicy_*``) would refuse it with their bare names.
    """

    currency = forms.ChoiceField(
        choices=_currency_choices,
        error_messages={"invalid_choice": "%(value)s is not a currency Holdfast uses. Choose one from the list."},
    )

    PERCENTS = {
        "client_fee_percent": "The client's service fee",
        "commission_percent": "The tasker's commission",
    }
    NON_NEGATIVE = {
        "client_fee_fixed": "The fixed part of the service fee",
        "client_fee_min": "The minimum service fee",
        "commission_min": "The minimum commission",
    }
    # maximum field -> (minimum field, what they bound)
    RANGES = {
        "client_fee_max": ("client_fee_min", "service fee"),
        "commission_max": ("commission_min", "commission"),
    }

    class Meta:
        model = FeePolicy
        fields = ["currency", *RATE_FIELDS]

    def clean(self):
        cleaned = super().clean()
        for field, what in self.PERCENTS.items():
            value = cleaned.get(field)
            if value is not None and not Decimal(0) <= value <= Decimal(100):
                self.add_error(field, f"{what} must be a percentage from 0 to 100.")
        for field, what in self.NON_NEGATIVE.items():
            value = cleaned.get(field)
            if value is not None and value < 0:
                self.add_error(field, f"{what} cannot be negative.")
        for maximum_field, (minimum_field, what) in self.RANGES.items():
            maximum, minimum = cleaned.get(maximum_field), cleaned.get(minimum_field)
            if maximum is not None and minimum is not None and minimum >= 0 and maximum < minimum:
                self.add_error(maximum_field, f"The maximum {what} cannot be less than the minimum ({minimum}).")
        return cleaned

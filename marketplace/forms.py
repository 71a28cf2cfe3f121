"""Forms for the marketplace pages. They only shape input; the services decide what is allowed."""

from django import forms
from django.conf import settings

from marketplace.models import Task
from marketplace.selectors import TASK_ORDERINGS

ORDERING_LABELS = {
    "relevance": "Best match",
    "newest": "Newest first",
    "oldest": "Oldest first",
    "budget": "Lowest budget",
    "-budget": "Highest budget",
}


def _currency_choices():
    return [(c.upper(), c.upper()) for c in settings.HOLDFAST_CURRENCIES]


class AmountInput(forms.TextInput):
    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", "placeholder": "120.00", **(attrs or {})})


class TaskForm(forms.Form):
    title = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=5000)
    category = forms.ChoiceField(choices=Task.Category.choices)
    # Amounts stay text here so the service's money rules (and their messages) apply unchanged.
    budget_amount = forms.CharField(label="Budget", max_length=20, widget=AmountInput())
    budget_currency = forms.ChoiceField(label="Currency", choices=_currency_choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The escrow limits: a budget outside them could never be paid.
        self.fields["budget_amount"].help_text = (
            f"Between {settings.ESCROW_MIN_AMOUNT:,} and {settings.ESCROW_MAX_AMOUNT:,}, the amounts Holdfast can hold "
            "in escrow."
        )


class OfferForm(forms.Form):
    amount = forms.CharField(label="Your price", max_length=20, widget=AmountInput())
    currency = forms.CharField(widget=forms.HiddenInput())
    message = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "When you can do it, what is included."}),
    )


class RequestChangesForm(forms.Form):
    reason = forms.CharField(label="What needs to change?", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class CancelForm(forms.Form):
    reason = forms.CharField(label="Reason (optional)", required=False, max_length=2000)


class TaskFilterForm(forms.Form):
    q = forms.CharField(
        label="Search", required=False, max_length=200, widget=forms.TextInput(attrs={"type": "search"})
    )
    category = forms.ChoiceField(
        label="Category", required=False, choices=[("", "All categories"), *Task.Category.choices]
    )
    currency = forms.ChoiceField(
        label="Currency", required=False, choices=lambda: [("", "Any currency"), *_currency_choices()]
    )
    # max_digits as on the budget column: without it "1e999999" passes and overflows the query.
    min_budget = forms.DecimalField(label="Min budget", required=False, min_value=0, max_digits=14, decimal_places=2)
    max_budget = forms.DecimalField(label="Max budget", required=False, min_value=0, max_digits=14, decimal_places=2)
    ordering = forms.ChoiceField(
        label="Sort", required=False, choices=[(key, ORDERING_LABELS[key]) for key in TASK_ORDERINGS]
    )

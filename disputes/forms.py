"""Dispute page forms: they shape input only; the services check and refuse with sentences."""

from __future__ import annotations

from django import forms

from disputes.models import Dispute
from disputes.services.common import TEXT_MAX_LENGTH


class DisputeOpenForm(forms.Form):
    reason = forms.ChoiceField(choices=Dispute.Reason.choices, label="What is wrong?")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=TEXT_MAX_LENGTH,
        label="Describe the problem",
        help_text="The other party and Support read this.",
    )
    amount_in_question = forms.CharField(
        required=False,
        label="Amount in question",
        help_text="Leave empty for everything held in escrow.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )


class MessageForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=TEXT_MAX_LENGTH, label="Message")


class EvidenceForm(forms.Form):
    file = forms.FileField(label="File", help_text="An image (PNG, JPEG, GIF, WebP) or a PDF, at most 5 MB.")
    description = forms.CharField(required=False, max_length=300, label="What it shows")


class SettlementForm(forms.Form):
    tasker_amount = forms.CharField(
        label="Amount to the tasker",
        help_text="Of the money held; the rest is refunded to the client. 0 refunds everything.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

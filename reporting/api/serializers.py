"""What the reporting API documents and answers. Query parameters are checked by
``reporting.periods`` and the selectors' parsers (one set of rules and codes for pages, CSV and API);
these serializers describe them in the schema."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import supported_currencies
from payments.models import Escrow, EscrowRefund, WalletTopUp, WalletWithdrawal
from payouts.models import Payout
from reporting.periods import PERIODS


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}],
        "description": "YYYY-MM-DD, inclusive; blank for no limit.",
    }
)
class _DateParam(serializers.CharField):
    pass


def _currency_choices():
    return supported_currencies()


STATUS_CHOICES = sorted(
    {
        *Escrow.Status.values,
        *EscrowRefund.Status.values,
        "returned",
        *Payout.Status.values,
        *WalletTopUp.Status.values,
        *WalletWithdrawal.Status.values,
    }
)
KIND_CHOICES = ["payment", "refund", "returned", "earning", "payout", "top_up", "withdrawal"]


# Blank is the same as left out, as for every query parameter of the API (the schema says so).


class PeriodParams(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=list(PERIODS),
        required=False,
        allow_blank=True,
        help_text="7d, 30d, 90d, 12m, or custom (with date_from and date_to).",
    )
    date_from = _DateParam(required=False, allow_blank=True)
    date_to = _DateParam(required=False, allow_blank=True)


class HistoryParams(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=[*PERIODS, "all"],
        required=False,
        allow_blank=True,
        help_text="all (the default), 7d, 30d, 90d, 12m or custom.",
    )
    date_from = _DateParam(required=False, allow_blank=True)
    date_to = _DateParam(required=False, allow_blank=True)
    role = serializers.ChoiceField(
        choices=["client", "tasker"], required=False, allow_blank=True, help_text="Both when left out."
    )
    kind = serializers.ChoiceField(choices=KIND_CHOICES, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False, allow_blank=True)
    currency = serializers.ChoiceField(choices=[], required=False, allow_blank=True)
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Words of the task's title, a task or escrow #id, or a Stripe id.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = _currency_choices()


class StatisticsParams(PeriodParams):
    role = serializers.ChoiceField(
        choices=["client", "tasker"],
        required=False,
        allow_blank=True,
        help_text="client (payments, the default) or tasker (earnings).",
    )
    currency = serializers.ChoiceField(
        choices=[], required=False, allow_blank=True, help_text="Defaults to the platform currency."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = _currency_choices()


class StatementParams(serializers.Serializer):
    currency = serializers.ChoiceField(
        choices=[], required=False, allow_blank=True, help_text="Defaults to the platform currency."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = _currency_choices()


class HistoryRowOutput(serializers.Serializer):
    kind = serializers.CharField(
        help_text="payment, refund, returned (a payment handed back at once), earning, payout (to the tasker's "
        "bank), top_up (card money into the wallet), withdrawal (wallet money back to the card)."
    )
    kind_label = serializers.CharField()
    id = serializers.IntegerField(help_text="The row's id within its kind (escrow id for payments and earnings).")
    occurred_at = serializers.DateTimeField()
    escrow_id = serializers.IntegerField(allow_null=True)
    task_id = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    currency = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    fee = serializers.DecimalField(max_digits=18, decimal_places=2)
    net = serializers.DecimalField(max_digits=18, decimal_places=2)
    status = serializers.CharField()
    status_label = serializers.CharField()
    reference = serializers.CharField(
        help_text="The processor's id: PaymentIntent (pi_…), refund (re_…); a payout's transfer (tr_…)."
    )
    charge_reference = serializers.CharField(help_text="The charge (ch_…); a payout's bank payout (po_…).")
    card_brand = serializers.CharField()
    card_last4 = serializers.CharField()
    method = serializers.CharField(
        help_text='How the money moved: the card ("Visa •••• 4242"), "Wallet" (paid from or refunded to the '
        'wallet, no card), or the bank of a payout ("Bank •••• 6789").'
    )
    receipt_url = serializers.CharField(help_text="The PDF receipt's API address, or blank.")


class StatusBreakdownOutput(serializers.Serializer):
    status = serializers.CharField()
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class MonthOutput(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class StatisticsOutput(serializers.Serializer):
    role = serializers.CharField()
    currency = serializers.CharField()
    period = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    total_payments = serializers.IntegerField()
    total_amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    total_fees = serializers.DecimalField(max_digits=18, decimal_places=2)
    average = serializers.DecimalField(max_digits=18, decimal_places=2)
    status_breakdown = StatusBreakdownOutput(many=True)
    monthly_trend = MonthOutput(many=True)
    total_refunded = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, help_text="Client: refunds of these payments."
    )
    total_gross = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, help_text="Tasker: net plus commission."
    )

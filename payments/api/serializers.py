"""Escrow API output. Each party sees only its own side of the fees (see ``escrow_breakdown_for``).

Amounts are decimal strings in major units with the escrow's ``currency`` alongside.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments import selectors
from payments.models import Escrow, EscrowEvent


class BreakdownLineOutputSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="amount, client_fee, client_total (client); amount, commission, tasker_net.")
    label = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    is_total = serializers.BooleanField()


class EscrowEventOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EscrowEvent.Kind.choices)
    label = serializers.CharField(source="get_kind_display")
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class EscrowTaskOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()


class EscrowOutputSerializer(serializers.Serializer):
    """Needs ``context={"user": ...}``: the breakdown depends on who is asking."""

    id = serializers.IntegerField()
    task = EscrowTaskOutputSerializer()
    status = serializers.ChoiceField(choices=Escrow.Status.choices)
    role = serializers.SerializerMethodField(help_text="client or tasker: the caller's side of this escrow.")
    currency = serializers.CharField()
    breakdown = serializers.SerializerMethodField()
    refunded_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    released_to_tasker = serializers.DecimalField(max_digits=14, decimal_places=2)
    release_due_at = serializers.DateTimeField(allow_null=True, help_text="Set while delivered work is in review.")
    last_payment_error = serializers.SerializerMethodField(help_text="Why the last card payment failed (client).")
    created_at = serializers.DateTimeField()
    funded_at = serializers.DateTimeField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    refunded_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)

    def _role(self, escrow: Escrow) -> str:
        return selectors.escrow_role(escrow=escrow, user=self.context["user"])

    def get_role(self, escrow: Escrow) -> str:
        return self._role(escrow)

    @extend_schema_field(BreakdownLineOutputSerializer(many=True))
    def get_breakdown(self, escrow: Escrow) -> list[dict]:
        lines = selectors.escrow_breakdown_for(escrow=escrow, role=self._role(escrow))
        return BreakdownLineOutputSerializer(lines, many=True).data

    def get_last_payment_error(self, escrow: Escrow) -> str:
        return selectors.escrow_payment_error(escrow=escrow) if self._role(escrow) == selectors.CLIENT else ""


class EscrowDetailOutputSerializer(EscrowOutputSerializer):
    timeline = serializers.SerializerMethodField()

    @extend_schema_field(EscrowEventOutputSerializer(many=True))
    def get_timeline(self, escrow: Escrow) -> list[dict]:
        events = selectors.escrow_timeline(escrow=escrow, role=self._role(escrow))
        return EscrowEventOutputSerializer(events, many=True).data


# The detail read is hot (mobile apps poll it while a payment settles): it is written out by hand,
# field for field what ``EscrowDetailOutputSerializer`` (still the schema) gives, through the same
# DRF fields' formatting; a test compares the two.
_AMOUNT = serializers.DecimalField(max_digits=14, decimal_places=2)
_TIME = serializers.DateTimeField()
_KIND_LABELS = dict(EscrowEvent.Kind.choices)


def _amount(value) -> str | None:
    return None if value is None else _AMOUNT.to_representation(value)


def _time(value) -> str | None:
    return None if value is None else _TIME.to_representation(value)


def escrow_detail_data(detail: selectors.EscrowDetail) -> dict:
    escrow, role = detail.escrow, detail.role
    return {
        "id": escrow.id,
        "task": {"id": detail.task_id, "title": detail.task_title, "status": detail.task_status},
        "status": escrow.status,
        "role": role,
        "currency": escrow.currency,
        "breakdown": [
            {"key": line.key, "label": line.label, "amount": _amount(line.amount), "is_total": line.is_total}
            for line in selectors.escrow_breakdown_for(escrow=escrow, role=role)
        ],
        "refunded_amount": _amount(escrow.refunded_amount),
        "released_to_tasker": _amount(escrow.released_to_tasker),
        "release_due_at": _time(escrow.release_due_at),
        "last_payment_error": selectors.escrow_payment_error(escrow=escrow) if role == selectors.CLIENT else "",
        "created_at": _time(escrow.created_at),
        "funded_at": _time(escrow.funded_at),
        "released_at": _time(escrow.released_at),
        "refunded_at": _time(escrow.refunded_at),
        "cancelled_at": _time(escrow.cancelled_at),
        "timeline": [
            {
                "kind": event.kind,
                "label": _KIND_LABELS.get(event.kind, event.kind),
                "from_status": event.from_status,
                "to_status": event.to_status,
                "amount": _amount(event.amount),
                "reason": event.reason,
                "created_at": _time(event.created_at),
            }
            for event in detail.timeline
        ],
    }

"""Dispute API output: the dispute, its thread, evidence (with download links) and timeline."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from disputes import selectors
from disputes.models import Dispute, DisputeEvent

MONEY = {"max_digits": 14, "decimal_places": 2}


class DisputeMessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.SerializerMethodField(help_text="client, tasker or support.")
    body = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_author(self, message) -> str:
        if message.from_support:
            return "support"
        return "client" if message.author_id == message.dispute.escrow.client_id else "tasker"


class EvidenceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, evidence) -> str:
        return reverse("disputes-api-evidence-download", args=[evidence.dispute_id, evidence.pk])


class DisputeEventOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DisputeEvent.Kind.choices)
    label = serializers.CharField(source="get_kind_display")
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    amount = serializers.DecimalField(**MONEY, allow_null=True)
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class DisputeOutputSerializer(serializers.Serializer):
    """Needs ``context={"user": ...}``."""

    id = serializers.IntegerField()
    escrow_id = serializers.IntegerField()
    task_id = serializers.IntegerField(source="escrow.task_id")
    task_title = serializers.CharField(source="escrow.task.title")
    role = serializers.SerializerMethodField(help_text="client or tasker: the caller's side.")
    opened_by = serializers.SerializerMethodField(help_text="client or tasker.")
    reason = serializers.ChoiceField(choices=Dispute.Reason.choices)
    description = serializers.CharField()
    amount_in_question = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    held = serializers.DecimalField(**MONEY, source="escrow.held_amount")
    status = serializers.ChoiceField(choices=Dispute.Status.choices)
    respond_by = serializers.DateTimeField()
    settlement_tasker_amount = serializers.DecimalField(**MONEY, allow_null=True)
    settlement_proposed_by = serializers.SerializerMethodField(help_text="client, tasker or empty.")
    outcome = serializers.CharField(help_text="release, refund or split once ruled (empty before).")
    client_refund = serializers.DecimalField(**MONEY, allow_null=True)
    ruling_reason = serializers.CharField()
    by_agreement = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)

    def _side(self, dispute, user_id) -> str:
        if user_id is None:
            return ""
        return "client" if user_id == dispute.escrow.client_id else "tasker"

    def get_role(self, dispute) -> str:
        return selectors.dispute_role(dispute=dispute, user=self.context["user"])

    def get_opened_by(self, dispute) -> str:
        return self._side(dispute, dispute.opened_by_id)

    def get_settlement_proposed_by(self, dispute) -> str:
        return self._side(dispute, dispute.settlement_proposed_by_id)


class DisputeDetailOutputSerializer(DisputeOutputSerializer):
    messages = DisputeMessageOutputSerializer(many=True)
    evidence = EvidenceOutputSerializer(many=True)
    timeline = DisputeEventOutputSerializer(many=True, source="events.all")

"""Dispute and chargeback services (every write), by subject.

=================  ==============================================================
``disputes``       open, message, settle, withdraw, escalate, assign
``rulings``        rule, second approval (maker-checker), carry out, finish
``evidence``       evidence files: checked, stored through Django's storage API
``chargebacks``    card disputes from the bank: processor events, ledger, Finance
=================  ==============================================================
"""

from disputes.services.chargebacks import (
    chargeback_accept,
    chargeback_evidence_submit,
    chargeback_sync,
    chargebacks_reconcile,
)
from disputes.services.disputes import (
    dispute_ask_parties,
    dispute_assign,
    dispute_cancel_request,
    dispute_escalate,
    dispute_message_post,
    dispute_open,
    dispute_settlement_accept,
    dispute_settlement_propose,
    dispute_withdraw,
    disputes_escalate_overdue,
)
from disputes.services.evidence import dispute_evidence_add, file_check
from disputes.services.rulings import (
    dispute_rule,
    dispute_ruling_approve,
    dispute_ruling_finish,
    dispute_ruling_reject,
)

__all__ = [
    "chargeback_accept",
    "chargeback_evidence_submit",
    "chargeback_sync",
    "chargebacks_reconcile",
    "dispute_ask_parties",
    "dispute_assign",
    "dispute_cancel_request",
    "dispute_escalate",
    "dispute_evidence_add",
    "dispute_message_post",
    "dispute_open",
    "dispute_rule",
    "dispute_ruling_approve",
    "dispute_ruling_finish",
    "dispute_ruling_reject",
    "dispute_settlement_accept",
    "dispute_settlement_propose",
    "dispute_withdraw",
    "disputes_escalate_overdue",
    "file_check",
]

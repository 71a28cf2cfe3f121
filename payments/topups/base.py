"""What every stage of a top-up shares: its metadata key, its errors, its lock and owner check."""

from __future__ import annotations

from accounts.models import User
from core.errors import Conflict, NotFound
from payments.models import WalletTopUp
from processors import registry
from processors.interface import Payment, PaymentProcessor
from processors.models import ProcessorTransaction

Tx = ProcessorTransaction.Kind
METADATA_KEY = "wallet_top_up_id"  # in the payment's metadata: this payment tops up that wallet top-up


class TopUpError(Conflict):
    default_code = "top_up_refused"


def top_up_not_found() -> NotFound:
    return NotFound("No such top-up.", code="top_up_not_found")


def is_top_up(payment: Payment) -> bool:
    return METADATA_KEY in payment.metadata


def top_up_processor(top_up: WalletTopUp) -> PaymentProcessor:
    """The processor of the top-up's payment (the configured one before any payment was made)."""
    return registry.processor(top_up.payment.processor if top_up.payment_id else None)


def top_up_lock(pk: int) -> WalletTopUp:
    """The top-up, locked (FOR UPDATE of its own row) for the rest of the transaction."""
    return WalletTopUp.objects.select_for_update(of=("self",)).select_related("payment").get(pk=pk)


def top_up_require_owner(top_up: WalletTopUp, actor: User) -> None:
    """Only its client may act on a top-up; to anyone else it does not exist."""
    if top_up.client_id != actor.pk:
        raise top_up_not_found()

"""Paying an escrow from the client's wallet: at once, no processor, one transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.money import format_money
from payments.escrow.errors import EscrowError, require_party
from payments.escrow.ledger import escrow_account
from payments.escrow.transitions import escrow_lock, escrow_transition
from payments.events import EscrowFunded
from payments.models import Escrow, EscrowEvent
from wallets.errors import InsufficientFunds
from wallets.models import JournalEntry
from wallets.services import ledger_post, wallet_account_get_or_create


def escrow_fund_from_wallet(*, escrow: Escrow, actor: User) -> Escrow:
    """Pay the escrow's client total from the client's wallet, at once: no processor call, one
    transaction (wallet → escrow in the ledger, the escrow funded, ``EscrowFunded`` published).

    Only the client may, while the escrow awaits payment, and only for the whole total in the
    escrow's currency (a wallet and a card are not mixed on one escrow: each escrow has one source,
    which is where its refunds go back). Too little in the wallet is ``wallet_insufficient_funds``
    and moves nothing. Two escrows paid from one wallet at once are serialised on the wallet's
    ledger row: the second sees what the first left. Called again after it succeeded, it returns
    the funded escrow. A card payment of the same escrow that succeeds later is returned to the card.
    """
    require_party(escrow, actor, client_only=True)
    with transaction.atomic():
        escrow = escrow_lock(escrow.pk)
        if escrow.funded_at is not None and escrow.funding_source == Escrow.FundingSource.WALLET:
            return escrow
        if escrow.status != Escrow.Status.AWAITING_PAYMENT:
            raise EscrowError("This escrow is not waiting for a payment.", code="escrow_not_awaiting_payment")
        wallet = wallet_account_get_or_create(user=escrow.client, currency=escrow.currency)
        try:
            ledger_post(
                idempotency_key=f"escrow:{escrow.pk}:funding",  # the same key as a card funding: once
                kind=JournalEntry.Kind.WALLET_PAYMENT,
                reference=escrow,
                lines=[(wallet, -escrow.client_total), (escrow_account(escrow), escrow.client_total)],
                actor=actor,
                memo="Paid from the wallet",
            )
        except InsufficientFunds as exc:
            available = exc.details.get("available", "0")
            raise EscrowError(
                f"Your {escrow.currency} wallet holds {format_money(available, escrow.currency)}; this payment "
                f"needs {format_money(escrow.client_total, escrow.currency)}. Top up your wallet or pay by card.",
                code="wallet_insufficient_funds",
                details={"available": str(available), "required": str(escrow.client_total)},
            ) from exc
        now = timezone.now()
        escrow_transition(
            escrow=escrow,
            to=Escrow.Status.FUNDED,
            kind=EscrowEvent.Kind.FUNDED,
            actor=actor,
            amount=escrow.client_total,
            reason="Paid from the wallet",
            fields={"funded_at": now, "funding_source": Escrow.FundingSource.WALLET},
            event=EscrowFunded(escrow_id=escrow.pk, task_id=escrow.task_id),
            now=now,
        )
    return escrow

"""The escrow's ledger moves that are not the release: money between the processor and the escrow."""

from __future__ import annotations

from decimal import Decimal

from accounts.models import User
from payments.models import Escrow
from wallets.models import LedgerAccount
from wallets.services import escrow_account_get_or_create, ledger_post, platform_account, wallet_account_get_or_create


def escrow_account(escrow: Escrow) -> LedgerAccount:
    return escrow_account_get_or_create(
        escrow=escrow, currency=escrow.currency, client=escrow.client, tasker=escrow.tasker
    )


def post_between_processor_and_escrow(
    *, escrow: Escrow, amount: Decimal, into_escrow: bool, key: str, kind: str, actor: User | None, memo: str
) -> None:
    """One balanced entry moving ``amount`` between the processor balance and the escrow's account."""
    signed = amount if into_escrow else -amount
    ledger_post(
        idempotency_key=key,
        kind=kind,
        reference=escrow,
        lines=[
            (platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=escrow.currency), -signed),
            (escrow_account(escrow), signed),
        ],
        actor=actor,
        memo=memo,
    )


def post_between_source_and_escrow(
    *, escrow: Escrow, amount: Decimal, into_escrow: bool, key: str, kind: str, actor: User | None, memo: str
) -> None:
    """Money between the escrow and where it came from: the processor balance for a card payment
    (a refund goes back through the processor), the client's wallet for a wallet payment (a refund
    is back in the wallet at once)."""
    if escrow.funding_source != Escrow.FundingSource.WALLET:
        post_between_processor_and_escrow(
            escrow=escrow, amount=amount, into_escrow=into_escrow, key=key, kind=kind, actor=actor, memo=memo
        )
        return
    signed = amount if into_escrow else -amount
    ledger_post(
        idempotency_key=key,
        kind=kind,
        reference=escrow,
        lines=[
            (wallet_account_get_or_create(user=escrow.client, currency=escrow.currency), -signed),
            (escrow_account(escrow), signed),
        ],
        actor=actor,
        memo=memo,
    )

"""Wallet top-up reads: how statements name a top-up, funded top-ups and withdrawals."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from payments.models import WalletTopUp, WalletWithdrawal


def top_up_references_describe(ids: list[str]) -> dict[str, tuple[str, str]]:
    """How statements name a top-up's entries: "Top-up #5", linking to its page."""
    from django.urls import reverse

    return {str(pk): (f"Top-up #{pk}", reverse("payments:top_up", args=[pk])) for pk in ids if str(pk).isdigit()}


def top_ups_funded(*, client: User | None = None) -> QuerySet[WalletTopUp]:
    """Wallet top-ups whose card payment reached the wallet (``funded_at`` set), of one client (``None``: all)."""
    top_ups = WalletTopUp.objects.filter(funded_at__isnull=False)
    if client is not None:
        top_ups = top_ups.filter(client=client)
    return top_ups


def wallet_withdrawals(*, client: User | None = None) -> QuerySet[WalletWithdrawal]:
    """Withdrawals from wallets back to the top-ups' cards (pending, succeeded or failed)."""
    withdrawals = WalletWithdrawal.objects.all()
    if client is not None:
        withdrawals = withdrawals.filter(top_up__client=client)
    return withdrawals

"""Who is told what about the client's wallet: a top-up credited, unused money sent back to the card.

Both also reload the wallet (``wallet``) and the top-up's page (``top-up:<id>``).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse

from notifications.registry import Notice, notifies, refreshes
from payments.events import WalletToppedUp, WalletWithdrawn


@refreshes(WalletToppedUp)
@refreshes(WalletWithdrawn)
def wallet_pages(event: WalletToppedUp | WalletWithdrawn) -> Iterator[tuple[int, str]]:
    yield event.user_id, "wallet"
    yield event.user_id, f"top-up:{event.top_up_id}"


@notifies(WalletToppedUp, kind="wallet_topped_up", label="Wallet topped up")
def wallet_topped_up(event: WalletToppedUp) -> Iterator[Notice]:
    yield Notice(
        recipient_id=event.user_id,
        dedupe_key=f"top-up:{event.top_up_id}",
        link=reverse("wallets:wallet"),
        context={"amount": event.amount, "currency": event.currency},
    )


@notifies(WalletWithdrawn, kind="wallet_withdrawn", label="Wallet money back to my card")
def wallet_withdrawn(event: WalletWithdrawn) -> Iterator[Notice]:
    yield Notice(
        recipient_id=event.user_id,
        dedupe_key=f"withdrawal:{event.withdrawal_id}",
        link=reverse("wallets:wallet"),
        context={"amount": event.amount, "currency": event.currency},
    )

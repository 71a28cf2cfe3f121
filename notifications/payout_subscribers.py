"""Who is told what about payouts: the tasker, at each step of their money's way to the bank.

Finance needs nothing here (the back office lists what waits for it). Every payout event also
reloads the tasker's payout pages (``payouts``, ``payout:<id>``) and wallet (``wallet``).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse

from notifications.registry import Notice, notifies, refreshes
from payouts import selectors as payout_selectors
from payouts.events import (
    PayoutAccountUpdated,
    PayoutCancelled,
    PayoutChanged,
    PayoutFailed,
    PayoutInTransit,
    PayoutPaid,
    PayoutRequested,
    PayoutWaiting,
)
from payouts.models import Payout, PayoutAccount


def _payout(event: PayoutChanged) -> Payout | None:
    return Payout.objects.select_related("account").filter(pk=event.payout_id).first()


def _notice(payout: Payout, step: str, **context) -> Notice:
    """A notice to the payout's tasker; ``step`` names the event for this payout attempt."""
    return Notice(
        recipient_id=payout.tasker_id,
        dedupe_key=f"payout:{payout.pk}:{payout.attempt}:{step}",
        link=reverse("payouts:detail", args=[payout.pk]),
        context={"payout": payout, **context},
    )


@refreshes(PayoutChanged)
def payout_pages(event: PayoutChanged) -> Iterator[tuple[int, str]]:
    """Every payout change reloads the tasker's Get paid page, the payout's page and the wallet."""
    yield event.tasker_id, "payouts"
    yield event.tasker_id, f"payout:{event.payout_id}"
    yield event.tasker_id, "wallet"


@refreshes(PayoutAccountUpdated)
def payout_account_pages(event: PayoutAccountUpdated) -> Iterator[tuple[int, str]]:
    yield event.tasker_id, "payouts"


@notifies(PayoutRequested, kind="payout_requested", label="Payout requested")
def payout_requested(event: PayoutRequested) -> Iterator[Notice]:
    payout = _payout(event)
    if payout is None:
        return
    yield _notice(
        payout,
        "requested",
        needs_approval=event.needs_approval,
        scheduled=event.scheduled,
        amount=event.amount,
        net=event.net,
    )


@notifies(PayoutInTransit, kind="payout_in_transit", label="Payout on its way to my bank")
def payout_in_transit(event: PayoutInTransit) -> Iterator[Notice]:
    payout = _payout(event)
    if payout is None:
        return
    yield _notice(payout, "in_transit", net=event.net)


@notifies(PayoutPaid, kind="payout_paid", label="Payout paid")
def payout_paid(event: PayoutPaid) -> Iterator[Notice]:
    payout = _payout(event)
    if payout is None:
        return
    yield _notice(payout, "paid", net=event.net)


@notifies(PayoutFailed, kind="payout_failed", label="Payout failed")
def payout_failed(event: PayoutFailed) -> Iterator[Notice]:
    """With the bank's words; when the bank details are the problem, the tasker is asked to fix them."""
    payout = _payout(event)
    if payout is None:
        return
    yield _notice(payout, "failed", amount=event.amount, reason=event.reason, bank_problem=event.bank_problem)


@notifies(PayoutCancelled, kind="payout_cancelled", label="Payout cancelled or refused")
def payout_cancelled(event: PayoutCancelled) -> Iterator[Notice]:
    """Refused by Finance (or cancelled by Holdfast); a tasker who cancelled it themselves is not told."""
    if event.actor_id == event.tasker_id:
        return
    payout = _payout(event)
    if payout is None:
        return
    yield _notice(payout, "cancelled", amount=event.amount, reason=event.reason)


@notifies(PayoutWaiting, kind="payout_waiting", label="Payout waiting for funds")
def payout_waiting(event: PayoutWaiting) -> Iterator[Notice]:
    """Once per attempt and reason: beat tries again, the tasker needs to do nothing."""
    payout = _payout(event)
    if payout is None:
        return
    yield _notice(payout, f"waiting:{event.reason}", reason=event.reason)


@notifies(PayoutAccountUpdated, kind="payout_account", label="My payout account")
def payout_account(event: PayoutAccountUpdated) -> Iterator[Notice]:
    """Ready for payouts (the first time), or Stripe asks for details it did not ask for before."""
    link = reverse("payouts:get_paid")
    if event.became_enabled:
        account = PayoutAccount.objects.filter(reference=event.account_reference).first()
        yield Notice(
            recipient_id=event.tasker_id,
            dedupe_key=f"account:{event.account_reference}:enabled",
            link=link,
            context={"enabled": True, "account": account},
        )
    elif event.requirements_due:
        due = sorted(event.requirements_due)
        yield Notice(
            recipient_id=event.tasker_id,
            dedupe_key=f"account:{event.account_reference}:due:{','.join(due)}",
            link=link,
            context={"enabled": False, "requirements": payout_selectors.requirements_in_words(due)},
        )

"""Releasing an escrow: the held money goes to the tasker's wallet (net) and to platform fee revenue.

No processor call is needed (separate charges and transfers: the money stays in the platform's
balance until the tasker is paid out). The release is the hottest path (the review-window sweeper
releases thousands in a row), so it takes one round trip per step: lock, whether a refund is
pending, the three ledger accounts, the ledger post, the transition (status and timeline in one
statement), and the task following it (one statement, in marketplace's subscriber).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from payments.escrow.errors import EscrowError, require_party
from payments.escrow.transitions import escrow_can_become, escrow_lock, escrow_transition
from payments.events import EscrowReleased
from payments.fees import release_split
from payments.models import Escrow, EscrowEvent, EscrowRefund
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import accounts_get_or_create, ledger_post

logger = logging.getLogger(__name__)

# A statement of its own, after the lock: a refund reserved by a transaction the lock waited for
# is visible only to a statement that starts after the wait (a subquery in the locking SELECT
# would still read the snapshot taken before it).
REFUND_PENDING_SQL = "SELECT EXISTS (SELECT 1 FROM payments_escrowrefund WHERE escrow_id = %s AND status = %s)"


@transaction.atomic
def escrow_release(
    *,
    escrow: Escrow,
    actor: User | None,
    reason: str,
    from_dispute: bool = False,
    delivered_only: bool = False,
    to: str = Escrow.Status.RELEASED,
) -> Escrow:
    """Pay the tasker what the escrow holds: to the tasker's wallet (net) and to fee revenue.

    Callers: the client approving (``delivered_only=True``: refused unless the work is delivered,
    checked under the lock), the review-window sweeper (``actor=None``), Support forcing a
    release, a ruling (``from_dispute=True``; ``to=split`` after a split's refund). Exactly once:
    the row is locked, a released escrow is returned as it is, and the ledger key is
    ``escrow:<id>:release``. The steps open no savepoints of their own: any refusal rolls back
    the release's own atomic block (a savepoint only when nested, as in the sweeper).
    """
    escrow = escrow_lock(escrow.pk)
    if escrow.status == to:
        return escrow
    allowed = {Escrow.Status.FUNDED} | ({Escrow.Status.DISPUTED} if from_dispute else set())
    if escrow.status not in allowed or not escrow_can_become(escrow, to):
        raise EscrowError(
            "Only an escrow holding the client's payment can be released."
            if escrow.status == Escrow.Status.AWAITING_PAYMENT
            else f"This escrow is {escrow.get_status_display().lower()} and cannot be released.",
            code="escrow_not_funded" if escrow.status == Escrow.Status.AWAITING_PAYMENT else "escrow_not_releasable",
        )
    with connection.cursor() as cursor:
        cursor.execute(REFUND_PENDING_SQL, [escrow.pk, EscrowRefund.Status.PENDING])
        (refund_pending,) = cursor.fetchone()
    if refund_pending:
        raise EscrowError("A refund is being processed; try again in a moment.", code="refund_in_progress")
    if delivered_only and escrow.status == Escrow.Status.FUNDED and escrow.release_due_at is None:
        raise EscrowError("You can approve the work once the tasker has delivered it.", code="escrow_not_delivered")
    held = escrow.client_total - escrow.refunded_amount
    split = release_split(breakdown=escrow.breakdown, refunded=escrow.refunded_amount)
    held_in, wallet, revenue = accounts_get_or_create(
        {"kind": LedgerAccount.Kind.ESCROW, "currency": escrow.currency, "owner": escrow},  # made at funding
        {"kind": LedgerAccount.Kind.USER_WALLET, "currency": escrow.currency, "user_id": escrow.tasker_id},
        {"kind": LedgerAccount.Kind.PLATFORM_FEE_REVENUE, "currency": escrow.currency},
    )
    lines = [(held_in, -held), (wallet, split.tasker_net), (revenue, split.platform_revenue)]
    if held:
        ledger_post(
            idempotency_key=f"escrow:{escrow.pk}:release",
            kind=JournalEntry.Kind.ESCROW_RELEASE,
            reference=escrow,
            lines=[(account, amount) for account, amount in lines if amount],
            actor=actor,
            memo=reason,
            savepoint=False,
        )
    now = timezone.now()
    return escrow_transition(
        escrow=escrow,
        to=to,
        kind=EscrowEvent.Kind.RELEASED,
        actor=actor,
        reason=reason,
        amount=split.tasker_net,
        fields={"released_at": now, "released_to_tasker": split.tasker_net, "release_due_at": None},
        event=EscrowReleased(escrow_id=escrow.pk, task_id=escrow.task_id, tasker_net=split.tasker_net, status=to),
        now=now,
    )


def escrow_approve(*, escrow: Escrow, actor: User) -> Escrow:
    """The client approves the work: release now. Only the client; only once work was delivered."""
    require_party(escrow, actor, client_only=True)
    return escrow_release(escrow=escrow, actor=actor, reason="Approved by the client", delivered_only=True)


def escrows_release_due(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Release every funded escrow whose review window has ended. Returns how many it released.

    Safe with several workers at once: each batch takes its rows with
    ``SELECT … FOR UPDATE SKIP LOCKED``, so workers share the work instead of queueing on it,
    and a row another worker (or the client's approval) holds is simply skipped. A disputed
    escrow is never due: opening a dispute freezes it (``holds.escrow_freeze``).
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.ESCROW_RELEASE_BATCH_SIZE
    released = 0
    refused: set[int] = set()  # not taken again in this run, so a stuck batch cannot loop forever
    while True:
        with transaction.atomic():
            due = list(
                Escrow.objects.select_for_update(skip_locked=True)
                .filter(status=Escrow.Status.FUNDED, release_due_at__lte=now)
                .exclude(pk__in=refused)
                .order_by("release_due_at", "pk")[:batch_size]
            )
            for escrow in due:
                try:  # escrow_release is atomic: nested here, a refusal rolls back to its own savepoint
                    escrow_release(escrow=escrow, actor=None, reason="Review window ended with no objection")
                    released += 1
                except ApplicationError as exc:
                    refused.add(escrow.pk)
                    logger.warning("Escrow %s not released by the sweeper: %s", escrow.pk, exc)
        if len(due) < batch_size:
            return released

"""What disputes follows of the escrow's events (subscribed in ``DisputesConfig.ready``).

A ruling whose refund the processor confirmed later (Stripe answered "pending", or did not answer)
is finished when the escrow's refund settles: on commit, a Celery task runs the ruling again (it
moves nothing twice) and resolves the dispute.
"""

from __future__ import annotations

from disputes.models import Dispute
from payments.events import EscrowRefunded, EscrowReleased


def ruling_finish_when_the_escrow_moves(event: EscrowRefunded | EscrowReleased) -> None:
    from disputes.tasks import dispute_ruling_finish

    claimed = Dispute.objects.filter(escrow_id=event.escrow_id, status__in=Dispute.ACTIVE).exclude(outcome="")
    for dispute_id in claimed.values_list("pk", flat=True):
        dispute_ruling_finish.delay(dispute_id)

"""Who is told what, and when: on-commit subscribers to the domain events of the apps below.

Each only enqueues a Celery task (retried with backoff), so a slow or failing mail server never
holds up, or fails, the payment that triggered it.
"""

from core.events import subscriber
from payments.events import EscrowFunded


@subscriber(EscrowFunded, on_commit=True)
def escrow_funded_notify(event: EscrowFunded) -> None:
    from notifications.tasks import escrow_funded_email

    for role in ("client", "tasker"):  # one task each: a retry never mails the other one again
        escrow_funded_email.delay(event.escrow_id, role)

"""Reporting follows payments' events: the client's receipt is emailed once the payment is booked."""

from core.events import subscriber
from payments.events import EscrowFunded


@subscriber(EscrowFunded, on_commit=True)
def escrow_funded_receipt(event: EscrowFunded) -> None:
    from reporting.tasks import payment_receipt_email

    payment_receipt_email.delay(event.escrow_id)

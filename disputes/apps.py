from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = "Disputes and chargebacks"

    def ready(self) -> None:
        # Registers the handlers of the processors' chargeback events (processors.registry).
        from disputes.services import chargebacks  # noqa: F401
        from disputes.services.disputes import dispute_cancel_request
        from payments.escrow import escrow_cancel_request_register

        # A client cancelling after the work started asks the tasker to agree (README, Disputes).
        escrow_cancel_request_register(dispute_cancel_request)

        from core.events import subscribe
        from disputes.subscribers import ruling_finish_when_the_escrow_moves
        from payments.events import EscrowRefunded, EscrowReleased

        # On commit: a ruling waiting for its refund to settle is finished by a Celery task.
        subscribe(EscrowRefunded, ruling_finish_when_the_escrow_moves, on_commit=True)
        subscribe(EscrowReleased, ruling_finish_when_the_escrow_moves, on_commit=True)

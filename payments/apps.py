from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # Registers the handlers of the processors' neutral events (payment succeeded, failed, refunds).
        from payments.escrow import funding, refunds  # noqa: F401
        from payments.selectors import ESCROW_LEDGER_CHECK, ESCROW_LEDGER_CHECK_MESSAGE, ESCROW_LEDGER_CHECK_SQL
        from wallets.selectors import ledger_check_register

        ledger_check_register(
            name=ESCROW_LEDGER_CHECK, sql=ESCROW_LEDGER_CHECK_SQL, message=ESCROW_LEDGER_CHECK_MESSAGE
        )

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # Registers the handlers of the processors' neutral events (payment succeeded, failed, refunds).
        from payments.escrow import funding, refunds  # noqa: F401
        from payments.selectors import (
            ESCROW_LEDGER_CHECK,
            ESCROW_LEDGER_CHECK_MESSAGE,
            ESCROW_LEDGER_CHECK_SQL,
            TOP_UP_LEDGER_CHECK,
            TOP_UP_LEDGER_CHECK_MESSAGE,
            TOP_UP_LEDGER_CHECK_SQL,
            escrow_payments_for_client,
            escrow_pending_for_tasker,
            escrow_references_describe,
            top_up_references_describe,
        )
        from wallets.selectors import (
            ledger_check_register,
            statement_reference_register,
            wallet_payments_register,
            wallet_pending_register,
        )

        ledger_check_register(
            name=ESCROW_LEDGER_CHECK, sql=ESCROW_LEDGER_CHECK_SQL, message=ESCROW_LEDGER_CHECK_MESSAGE
        )
        # The wallet shows a tasker the net of the escrows they work on, not the client's total.
        wallet_pending_register(name="payments.escrow", provider=escrow_pending_for_tasker)
        # A client's card payments go into escrows; the wallet page lists them.
        wallet_payments_register(name="payments.escrow", provider=escrow_payments_for_client)
        # Statements name an escrow's entries by its task ("Mount a TV"), not "payments.escrow:1".
        statement_reference_register(model="payments.escrow", describe=escrow_references_describe)
        # Wallet top-ups: statements name them ("Top-up #5"), the ledger check compares them.
        statement_reference_register(model="payments.wallettopup", describe=top_up_references_describe)
        ledger_check_register(
            name=TOP_UP_LEDGER_CHECK, sql=TOP_UP_LEDGER_CHECK_SQL, message=TOP_UP_LEDGER_CHECK_MESSAGE
        )

from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Payouts"

    def ready(self) -> None:
        # Registers the handlers of the processors' neutral events (account updated, bank payout changed).
        from payouts.selectors import (
            PAYOUT_LEDGER_CHECK,
            PAYOUT_LEDGER_CHECK_MESSAGE,
            PAYOUT_LEDGER_CHECK_SQL,
            payout_references_describe,
        )
        from payouts.services import execution, onboarding  # noqa: F401
        from wallets.selectors import ledger_check_register, statement_reference_register

        # The ledger's payouts in transit match the payouts on their way (make ledger-check, hourly).
        ledger_check_register(
            name=PAYOUT_LEDGER_CHECK, sql=PAYOUT_LEDGER_CHECK_SQL, message=PAYOUT_LEDGER_CHECK_MESSAGE
        )

        # Statements name a payout's entries ("Payout #12 to STRIPE TEST BANK ····6789") and link to it.
        statement_reference_register(model="payouts.payout", describe=payout_references_describe)

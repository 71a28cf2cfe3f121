from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Payouts"

    def ready(self) -> None:
        # Registers the handlers of the processors' neutral events (account updated, bank payout changed).
        from payouts.selectors import payout_references_describe
        from payouts.services import execution, onboarding  # noqa: F401
        from wallets.selectors import statement_reference_register

        # Statements name a payout's entries ("Payout #12 to STRIPE TEST BANK ····6789") and link to it.
        statement_reference_register(model="payouts.payout", describe=payout_references_describe)

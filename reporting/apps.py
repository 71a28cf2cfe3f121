from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        from reporting import subscribers  # noqa: F401  (on-commit: receipts by email)
        from reporting.selectors.sources import BUILT_IN_SOURCES, PAYOUT_SOURCE, history_source_register

        # The history's sources: payments, refunds, earnings, wallet top-ups and withdrawals, and
        # taskers' payouts (read through payouts.selectors.payouts_for_history).
        for source in (*BUILT_IN_SOURCES, PAYOUT_SOURCE):
            history_source_register(source)

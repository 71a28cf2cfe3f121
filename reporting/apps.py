from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        from reporting import subscribers  # noqa: F401  (on-commit: receipts by email)
        from reporting.selectors.history import BUILT_IN_SOURCES, history_source_register

        # The history's sources. Payouts join with one more line here once the payouts app has a
        # selector for them: history_source_register(HistorySource("payout", ..., rows=payout_rows)).
        for source in BUILT_IN_SOURCES:
            history_source_register(source)

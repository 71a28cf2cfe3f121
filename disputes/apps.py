from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = "Disputes and chargebacks"

    def ready(self) -> None:
        # Registers the handlers of the processors' chargeback events (processors.registry).
        from disputes.services import chargebacks  # noqa: F401

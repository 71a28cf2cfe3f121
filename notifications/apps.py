from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Each module subscribes to the domain events of one capability.
        from notifications import (  # noqa: F401
            dispute_subscribers,
            payout_subscribers,
            subscribers,
            wallet_subscribers,
        )

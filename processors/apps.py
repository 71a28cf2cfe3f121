from django.apps import AppConfig


class ProcessorsConfig(AppConfig):
    name = "processors"
    verbose_name = "Payment processors"

    def ready(self) -> None:
        from processors.stripe import handlers  # noqa: F401  (registers the Stripe webhook receivers)

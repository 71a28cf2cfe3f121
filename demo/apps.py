from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The top of the house: `holdfast_setup` (staff groups, processor registration, demo data),
    which may call every app below it."""

    name = "demo"
    verbose_name = "Demo and set-up"

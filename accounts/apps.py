from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts.roles import staff_groups_sync

        # Apps added later (payments, disputes, …) bring their own permissions; re-syncing after
        # every migrate gives the staff groups those permissions as soon as they exist.
        post_migrate.connect(
            lambda **kwargs: staff_groups_sync(), dispatch_uid="accounts.staff_groups_sync", weak=False
        )

"""Staff groups and what each may do in the back office."""

from __future__ import annotations

SUPPORT = "Support"
FINANCE = "Finance"

# Permissions by "app_label.codename". A permission whose model does not exist yet is skipped and
# picked up by the next migrate (see AccountsConfig.ready).
STAFF_GROUP_PERMISSIONS: dict[str, list[str]] = {
    SUPPORT: [
        "accounts.view_user",
        "accounts.view_profile",
        "marketplace.view_task",
        "marketplace.view_offer",
        "disputes.view_dispute",
        "disputes.add_dispute",
        "disputes.change_dispute",
        "disputes.view_disputemessage",
        "disputes.add_disputemessage",
        "disputes.view_evidence",
        "disputes.add_evidence",
        "disputes.view_disputeevent",
        "disputes.rule_dispute",
        "disputes.view_chargeback",
        "payments.view_escrow",
        "payments.view_escrowevent",
        "payments.force_release_escrow",
        "payouts.view_payout",
        "payouts.view_payoutevent",
        "payouts.view_payoutaccount",
        "reporting.search_transactions",
    ],
    FINANCE: [
        "accounts.view_user",
        "accounts.view_profile",
        "marketplace.view_task",
        "marketplace.view_offer",
        "payments.view_escrow",
        "payments.view_escrowevent",
        "payments.refund_escrow",
        "payments.view_feepolicy",
        "payments.add_feepolicy",
        "payments.change_feepolicy",
        "wallets.view_ledgeraccount",
        "wallets.view_journalentry",
        "wallets.view_posting",
        "payouts.view_payout",
        "payouts.view_payoutevent",
        "payouts.view_payoutaccount",
        "payouts.approve_payout",
        "payouts.view_reconciliation",
        "payouts.view_reconciliationrun",
        "disputes.view_dispute",
        "disputes.view_chargeback",
        "disputes.change_chargeback",
        "disputes.respond_chargeback",
        "disputes.view_chargebackevent",
        "reporting.view_revenue_dashboard",
        "reporting.search_transactions",
    ],
}


def staff_groups_sync(apps=None) -> None:
    """Create the Support and Finance groups and give them every listed permission that exists.

    Safe to call any number of times: it only adds what is missing.
    """
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, perms in STAFF_GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            wanted.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.add(*wanted)

"""The back office's view of dj-stripe's mirror of Stripe: a few models, read-only.

dj-stripe registers an admin page, with Add and Change, for each of its ~45 models. Holdfast
never writes to Stripe through them (the mirror is filled from Stripe; money moves through the
payments services), and most of those models (coupons, subscriptions, invoices, products…)
are unused here. Staff keep what helps to follow a payment or a webhook, read-only and
without the actions that call Stripe.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from djstripe import models as djstripe_models
from djstripe.admin import admin as djstripe_admin

# Model → dj-stripe's own admin class, whose columns, filters and search are kept.
MIRRORED: dict[type, type[admin.ModelAdmin]] = {
    djstripe_models.PaymentIntent: djstripe_admin.PaymentIntentAdmin,
    djstripe_models.Charge: djstripe_admin.ChargeAdmin,
    djstripe_models.Refund: djstripe_admin.RefundAdmin,
    djstripe_models.Dispute: djstripe_admin.DisputeAdmin,
    djstripe_models.Customer: djstripe_admin.CustomerAdmin,
    djstripe_models.Account: djstripe_admin.AccountAdmin,
    djstripe_models.Transfer: djstripe_admin.TransferAdmin,
    djstripe_models.Payout: djstripe_admin.PayoutAdmin,
    djstripe_models.Event: djstripe_admin.EventAdmin,
    djstripe_models.WebhookEndpoint: djstripe_admin.WebhookEndpointAdmin,
}


class ReadOnlyMirrorMixin:
    """Viewing only: no add, change or delete, and none of dj-stripe's re-sync actions."""

    actions = None

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        return {}


def _mirror_admin(model: type, base: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    return type(f"{model.__name__}MirrorAdmin", (ReadOnlyMirrorMixin, base), {"__module__": __name__})


for _model in apps.get_app_config("djstripe").get_models():
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)

for _model, _base in MIRRORED.items():
    admin.site.register(_model, _mirror_admin(_model, _base))

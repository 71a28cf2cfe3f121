from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularSwaggerView

from core import views as core_views
from core.api_docs import SchemaRedocView, SchemaView
from processors.stripe.webhooks import StripeWebhookView

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("marketplace.api.urls")),
    path("", include("wallets.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("payouts.api.urls")),
    path("", include("disputes.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("reporting.api.urls")),
]

urlpatterns = [
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("wallet/", include("wallets.urls")),
    path("payments/", include("payments.urls")),
    path("payouts/", include("payouts.urls")),
    path("disputes/", include("disputes.urls")),
    path("notifications/", include("notifications.urls")),
    path("reporting/", include("reporting.urls")),
    path("stripe/webhook/<uuid:uuid>/", StripeWebhookView.as_view(), name="stripe-webhook"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SchemaRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Any other /api/ address is the API's JSON 404, also with DEBUG on (where Django would
    # otherwise answer its HTML debug page, e.g. for /api/v1/tasks/-1/).
    # CSRF-exempt: a POST there is a 404 too, not the CSRF failure page.
    re_path(r"^api/", csrf_exempt(core_views.page_not_found), name="api-not-found"),
    path("", include("marketplace.urls")),
]

handler400 = "core.views.bad_request"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"

admin.site.site_header = "Holdfast back office"
admin.site.site_title = "Holdfast back office"
admin.site.index_title = "Support and finance"

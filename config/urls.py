from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from core.api_docs import SchemaRedocView, SchemaView
from payments.webhooks import StripeWebhookView

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("marketplace.api.urls")),
    path("", include("wallets.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("disputes.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("wallet/", include("wallets.urls")),
    path("payments/", include("payments.urls")),
    path("disputes/", include("disputes.urls")),
    path("stripe/webhook/<uuid:uuid>/", StripeWebhookView.as_view(), name="stripe-webhook"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SchemaRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("", include("marketplace.urls")),
]

handler400 = "core.views.bad_request"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"

admin.site.site_header = "Holdfast back office"
admin.site.site_title = "Holdfast back office"
admin.site.index_title = "Support and finance"

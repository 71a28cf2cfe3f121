"""The site's URLs for page tests, plus a placeholder for a link in the shared layout.

``base.html`` links to ``wallets:wallet``. Until the wallets app provides that page, rendering any
page would fail, so the placeholder stands in; once the real page exists it is not added.
"""

from django.http import HttpResponse
from django.urls import include, path

import wallets.urls
from config.urls import handler400, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as site_urlpatterns

urlpatterns = list(site_urlpatterns)
if "wallet" not in {getattr(pattern, "name", None) for pattern in wallets.urls.urlpatterns}:
    placeholder = [path("", lambda request: HttpResponse("wallet"), name="wallet")]
    urlpatterns.insert(0, path("wallet/", include((placeholder, "wallets"))))

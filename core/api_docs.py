"""The API's schema and docs pages, served with nothing from other hosts."""

from __future__ import annotations

from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: YAML by default, ``?format=json`` as ``application/json`` so a browser
    shows it instead of downloading it (``Accept: application/vnd.oai.openapi+json`` still works)."""

    renderer_classes = [OpenApiYamlRenderer, OpenApiYamlRenderer2, OpenApiJsonRenderer2, OpenApiJsonRenderer]


class SchemaRedocView(SpectacularRedocView):
    """ReDoc without the Google Fonts the stock page loads: it works offline."""

    template_name = "api/redoc.html"

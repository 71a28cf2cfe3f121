"""The OpenAPI schema class (``DEFAULT_SCHEMA_CLASS``): every operation's refusals, with the one
error shape. Apart from ``core.api`` and ``core.api_docs`` because DRF and drf-spectacular import
their settings' classes while loading their own modules."""

from __future__ import annotations

import drf_spectacular.openapi
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework_simplejwt.views import TokenViewBase

from core.api import REQUIRED_TEXT_PATTERN, ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "The request is not valid (validation_error or a specific code).",
    "401": "Not logged in, or the credentials or token are not valid.",
    "402": "The card payment failed.",
    "403": "Not allowed for this user.",
    "404": "Not found, or not visible to this user.",
    "409": "Not possible in the object's current state.",
    "429": "Too many requests: retry after the Retry-After header's seconds.",
    "503": "The payment provider is unavailable: retry later.",
}


class AutoSchema(drf_spectacular.openapi.AutoSchema):
    """Every operation documents the refusals it can answer, each with the one error shape.

    Added to what a view declares: 429 (every endpoint is throttled), 401 (any endpoint that reads
    credentials), 400 (any with a body or query parameters) and 404 (any with an id in its path).
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        parameters = operation.get("parameters", [])
        codes = set()
        if self.view.get_throttles():
            codes.add("429")
        if self.view.get_authenticators() or isinstance(self.view, TokenViewBase):
            codes.add("401")
        if operation.get("requestBody") or any(p["in"] == "query" for p in parameters):
            codes.add("400")
        # An id in the path that is not there, or a page past the last one.
        if any(p["in"] == "path" or p["name"] == "page" for p in parameters):
            codes.add("404")
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        for code in codes:
            responses.setdefault(code, {"description": ERROR_DESCRIPTIONS[code]})
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                response["content"] = {"application/json": {"schema": error}}
                if not response.get("description"):
                    response["description"] = ERROR_DESCRIPTIONS.get(code, "Error.")
        operation["responses"] = dict(sorted(responses.items()))
        return operation


class RequiredTextFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "core.api.RequiredTextField"

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = {"type": "string", "minLength": 1, "pattern": REQUIRED_TEXT_PATTERN}
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
        if field.help_text:
            schema["description"] = str(field.help_text)
        return schema

"""The OpenAPI schema tells the truth: response shapes, refusals and input limits as the server has them."""

import pytest
from drf_spectacular.generators import SchemaGenerator

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _ref(schema, ref):
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def _response_schema(schema, path, method, code="200"):
    return _ref(schema, schema["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"])


# --- 7: lists are documented as the pages they are -----------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tasks/",
        "/api/v1/tasks/mine/",
        "/api/v1/tasks/{id}/offers/",
        "/api/v1/offers/mine/",
        "/api/v1/escrows/",
        "/api/v1/wallet/transactions/",
    ],
)
def test_lists_are_documented_as_pages(schema, path):
    page = _response_schema(schema, path, "get")
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    assert page["properties"]["results"]["type"] == "array"
    names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
    assert {"page", "page_size"} <= names


def test_wallet_balances_are_documented_under_results(schema):
    body = _response_schema(schema, "/api/v1/wallet/", "get")
    assert set(body["properties"]) == {"results"} and body["properties"]["results"]["type"] == "array"


# --- 9: every refusal is documented, with the error shape ----------------------------------------


def test_every_operation_documents_401_and_429_with_the_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(_ref(schema, error["properties"]["error"])["required"]) == {"code", "message", "details"}
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        assert "429" in codes, (method, path)
        if path != "/api/v1/auth/register/":  # reads no credentials
            assert "401" in codes, (method, path)
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_operations_document_400_for_input_and_404_for_ids(schema):
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "400" in codes, (method, path)
        if "{id}" in path:
            assert "404" in codes, (method, path)
    assert {"403", "409"} <= set(schema["paths"]["/api/v1/offers/{id}/accept/"]["post"]["responses"])

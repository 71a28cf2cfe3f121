"""The OpenAPI schema tells the truth: response shapes, refusals and input limits as the server has them."""

import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator

from accounts.tests.factories import ClientFactory
from marketplace.models import Offer, Task, TaskEvent

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


def _request_schema(schema, path, method):
    return _ref(schema, schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"])


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


# --- 10: the schema's limits are the server's ------------------------------------------------------


def test_text_limits_are_the_models(schema):
    create = _request_schema(schema, "/api/v1/tasks/", "post")["properties"]
    assert create["title"]["maxLength"] == Task._meta.get_field("title").max_length == 120
    assert create["description"]["maxLength"] == Task._meta.get_field("description").max_length == 5000
    assert create["title"]["minLength"] == 1 and create["title"]["pattern"]
    offer = _request_schema(schema, "/api/v1/tasks/{id}/offers/", "post")["properties"]
    message = offer["message"]["oneOf"][0]  # or blank
    assert message["maxLength"] == Offer._meta.get_field("message").max_length
    for path in ("/api/v1/tasks/{id}/request-changes/", "/api/v1/escrows/{id}/request-changes/"):
        reason = _request_schema(schema, path, "post")["properties"]["reason"]
        assert reason["minLength"] == 1 and reason["maxLength"] == TaskEvent._meta.get_field("reason").max_length


# File uploads are the one exception: multipart, as mobile SDKs send files.
MULTIPART_UPLOADS = {("post", "/api/v1/disputes/{id}/evidence/")}


def test_bodies_are_json_only(schema):
    for path, method, operation in _operations(schema):
        if "requestBody" in operation:
            expected = ["multipart/form-data"] if (method, path) in MULTIPART_UPLOADS else ["application/json"]
            assert list(operation["requestBody"]["content"]) == expected, (method, path)


def test_currency_and_amount_fields_are_constrained(schema):
    currency = next(p for p in schema["paths"]["/api/v1/tasks/"]["get"]["parameters"] if p["name"] == "currency")
    assert [c for c in currency["schema"]["enum"] if c] == [c.upper() for c in settings.HOLDFAST_CURRENCIES]
    money = _ref(schema, _request_schema(schema, "/api/v1/tasks/", "post")["properties"]["budget"])
    assert _ref(schema, money["properties"]["currency"])["enum"] == settings.HOLDFAST_CURRENCIES
    text = next(s for s in money["properties"]["amount"]["oneOf"] if s["type"] == "string")
    assert text["pattern"] == "^-?[0-9]+(\\.[0-9]+)?$"


@pytest.mark.django_db
def test_form_bodies_are_refused(api_client):
    api_client.force_authenticate(ClientFactory())
    response = api_client.post(
        "/api/v1/tasks/",
        {"title": "Paint", "description": "A fence", "category": "other", "budget": "60"},
        format="multipart",
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_text_over_the_limit_is_refused_as_documented(api_client):
    api_client.force_authenticate(ClientFactory())
    payload = {
        "title": "x" * 121,
        "description": "y",
        "category": "other",
        "budget": {"amount": "60", "currency": "USD"},
    }
    assert api_client.post("/api/v1/tasks/", payload).status_code == 400
    payload["title"] = "x" * 120
    assert api_client.post("/api/v1/tasks/", payload).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("page_size", ["abc", "0", "-1", "", "1.5", "٥"])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_refused(api_client, page_size):
    response = api_client.get("/api/v1/tasks/", {"page_size": page_size})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"]["page_size"]


def test_page_parameters_are_documented_from_1(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/tasks/"]["get"]["parameters"]}
    assert parameters["page"]["schema"]["minimum"] == 1 and parameters["page_size"]["schema"]["minimum"] == 1


@pytest.mark.django_db
def test_blank_wallet_filters_are_documented_and_mean_all(api_client, schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/wallet/transactions/"]["get"]["parameters"]}
    assert "" in parameters["kind"]["schema"]["enum"] and "" in parameters["currency"]["schema"]["enum"]
    api_client.force_authenticate(ClientFactory())
    response = api_client.get("/api/v1/wallet/transactions/", {"kind": "", "currency": ""})
    assert response.status_code == 200 and response.json()["count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["", "abc", "last", "1.0"])
def test_a_page_that_is_not_a_whole_number_is_not_found(api_client, page):
    response = api_client.get("/api/v1/tasks/", {"page": page})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_blank_wallet_dates_are_documented(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/wallet/transactions/"]["get"]["parameters"]}
    for name in ("date_from", "date_to"):
        assert {"type": "string", "maxLength": 0} in parameters[name]["schema"]["oneOf"]

"""The API against its own OpenAPI schema, fuzzed with schemathesis: 0 failures.

Every operation of ``/api/schema/`` gets schema-valid and schema-invalid requests through the
WSGI app (real PostgreSQL, the Stripe emulator), as a logged-in user who has tasks, offers and
escrows, so ids in paths mostly name real objects. Besides schemathesis's own checks (no 5xx,
documented status codes, content types and response bodies, invalid input refused), every 4xx
must carry the one error shape, and a valid request may be refused only by a business rule
(a specific error code), never as malformed.

Run alone: ``.venv/bin/pytest -m schemathesis`` (or this file's path).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from accounts.tests.factories import ProfileFactory, UserFactory
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments.tests.factories import escrow_awaiting_payment, escrow_delivered

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db]

# Valid and invalid requests (mode "all"); the coverage phase sends each parameter's and
# field's boundary values (one past maxLength, outside an enum, a string for an integer),
# then a few fuzzed examples per operation. Deterministic: the same requests every run.
# Bounded so the whole run stays within a couple of minutes on a busy 2-core machine.
CONFIG = {
    "generation": {"max-examples": 6, "mode": "all", "deterministic": True},
    "phases": {"coverage": {"enabled": True}, "stateful": {"enabled": False}},
}

# The codes of a request refused for its shape. A schema-valid request must never get them: a
# schema that lets them through is looser than the server. Business rules (an amount below the
# minimum, an offer on one's own task) have codes of their own and may refuse valid requests.
SHAPE_CODES = {"validation_error", "malformed_request", "unsupported_media_type"}


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: a request through the WSGI app must not close the
    connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_user(stripe_emulator):
    """A client and tasker with something behind every id: tasks, offers, escrows in several states."""
    user = UserFactory()
    ProfileFactory(user=user, is_client=True, is_tasker=True)
    ids = {"tasks": [], "offers": [], "escrows": []}
    for escrow in (escrow_awaiting_payment(client=user), escrow_delivered(client=user)):
        ids["escrows"].append(escrow.pk)
        ids["tasks"].append(escrow.task_id)
        ids["offers"].append(escrow.offer_id)
    mine = TaskFactory(client=user)
    ids["tasks"].append(mine.pk)
    ids["offers"].append(OfferFactory(task=mine).pk)
    theirs = TaskFactory()
    ids["tasks"].append(theirs.pk)
    ids["offers"].append(OfferFactory(task=theirs, tasker=user).pk)
    token = str(RefreshToken.for_user(user).access_token)
    return {"ids": ids, "headers": {"Authorization": f"Bearer {token}"}}


# Loaded when the file is collected: the schema view needs no database.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", get_wsgi_application(), config=SchemathesisConfig.from_dict(CONFIG)
)


def error_shape(ctx, response, case):
    """Every 4xx is ``{"error": {"code", "message", "details"}}``."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert set(body) == {"error"}, body
        error = body["error"]
        assert set(error) == {"code", "message", "details"}, error
        assert isinstance(error["code"], str) and error["code"], error
        assert isinstance(error["message"], str) and error["message"], error
        assert isinstance(error["details"], dict), error
    return None


def valid_data_not_refused_as_malformed(ctx, response, case):
    if case.meta is not None and case.meta.generation.mode.is_positive and response.status_code == 400:
        code = response.json()["error"]["code"]
        assert code not in SHAPE_CODES, f"a schema-valid request was refused as {code}: {response.text}"
    return None


def _point_at_real_objects(case, ids):
    """Most generated integer ids are replaced by one of the user's objects; some stay random (404)."""
    value = case.path_parameters.get("id") if case.path_parameters else None
    if not isinstance(value, int) or isinstance(value, bool) or value % 4 == 0:
        return
    kind = case.operation.path.split("/")[3]  # /api/v1/<kind>/{id}/...
    if kind in ids:
        case.path_parameters["id"] = ids[kind][value % len(ids[kind])]


@schema.parametrize()
@settings(
    deadline=None,
    # The user's data is made once per operation and shared by its examples, on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_matches_its_schema(case, fuzz_user):
    _point_at_real_objects(case, fuzz_user["ids"])
    case.call_and_validate(
        headers=fuzz_user["headers"],
        excluded_checks=[positive_data_acceptance],
        additional_checks=[error_shape, valid_data_not_refused_as_malformed],
    )

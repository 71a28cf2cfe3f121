from decimal import Decimal

import pytest
from djstripe.models import Event

from core import sql
from payments.models import Escrow
from payments.tests.factories import escrow_funded

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_fetched_rows_are_the_instances_the_orm_returns(stripe_emulator):
    escrow = escrow_funded(amount="99.90")

    (fetched,) = sql.fetch(Escrow, f"SELECT {sql.columns(Escrow)} FROM payments_escrow WHERE id = %s", [escrow.pk])

    assert _fields(fetched) == _fields(Escrow.objects.get(pk=escrow.pk))
    assert fetched.client_total == Decimal("104.90") and fetched.funded_at.tzinfo is not None
    assert fetched._state.adding is False  # saved rows, as the ORM marks them


def test_fields_with_converters_come_back_converted():
    Event.objects.create(id="evt_sql_1", type="charge.refunded", data={"object": {"id": "ch_1"}}, metadata={"a": 1})

    (fetched,) = sql.fetch(Event, f"SELECT {sql.columns(Event)} FROM djstripe_event WHERE id = %s", ["evt_sql_1"])

    assert fetched.data == {"object": {"id": "ch_1"}}  # a dict, not the JSON text PostgreSQL sends
    assert fetched.metadata == {"a": 1}
    assert sql.fetch(Event, f"SELECT {sql.columns(Event)} FROM djstripe_event WHERE id = %s", ["evt_none"]) == []

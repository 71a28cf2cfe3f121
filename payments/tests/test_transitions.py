"""The escrow's transition table, directly: every move it allows happens once, with its timeline
event; every move it does not allow is refused with ``invalid_transition`` and changes nothing."""

from itertools import product

import pytest
from django.db import transaction

from core.errors import InvalidTransition
from payments.escrow.transitions import TRANSITIONS, escrow_lock, escrow_transition
from payments.models import Escrow, EscrowEvent, EscrowStatus
from payments.tests.factories import escrow_awaiting_payment

pytestmark = pytest.mark.django_db

ALL_PAIRS = [(a, b) for a, b in product(EscrowStatus.values, EscrowStatus.values) if a != b]
ALLOWED = [(a, b) for a, b in ALL_PAIRS if b in TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in ALL_PAIRS if b not in TRANSITIONS[a]]


def _escrow_in(status: str) -> Escrow:
    escrow = escrow_awaiting_payment()
    Escrow.objects.filter(pk=escrow.pk).update(status=status)  # a row in that state, for the table only
    return Escrow.objects.get(pk=escrow.pk)


def _snapshot(escrow: Escrow) -> tuple:
    escrow.refresh_from_db()
    return escrow.status, escrow.updated_at, escrow.events.count()


def test_the_table_names_every_status_and_final_states_lead_nowhere():
    assert set(TRANSITIONS) == set(EscrowStatus.values)
    for status in (EscrowStatus.RELEASED, EscrowStatus.REFUNDED, EscrowStatus.CANCELLED, EscrowStatus.SPLIT):
        assert TRANSITIONS[status] == frozenset()
    assert len(ALLOWED) == 9 and len(REFUSED) == 33


@pytest.mark.parametrize(("from_status", "to"), REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED])
def test_a_move_the_table_does_not_allow_is_refused_and_changes_nothing(stripe_emulator, from_status, to):
    escrow = _escrow_in(from_status)
    before = _snapshot(escrow)

    with pytest.raises(InvalidTransition) as exc, transaction.atomic():
        escrow_transition(escrow=escrow_lock(escrow.pk), to=to, kind=EscrowEvent.Kind.RELEASED, reason="Try")

    assert exc.value.code == "invalid_transition"
    assert exc.value.details == {"status": from_status, "to": to}
    assert _snapshot(escrow) == before


@pytest.mark.parametrize(("from_status", "to"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_a_move_the_table_allows_happens_once_with_its_event(stripe_emulator, from_status, to):
    escrow = _escrow_in(from_status)
    events_before = escrow.events.count()

    for _ in range(2):  # the second call finds it done: nothing more is written
        with transaction.atomic():
            moved = escrow_transition(escrow=escrow_lock(escrow.pk), to=to, kind=EscrowEvent.Kind.RELEASED)
        assert moved.status == to

    escrow.refresh_from_db()
    assert escrow.status == to
    assert escrow.events.count() == events_before + 1
    event = escrow.events.order_by("-id").first()
    assert (event.from_status, event.to_status) == (from_status, to)


def test_a_transition_writes_only_status_columns(stripe_emulator):
    escrow = escrow_awaiting_payment()
    with pytest.raises(ValueError), transaction.atomic():
        escrow_transition(
            escrow=escrow_lock(escrow.pk),
            to=EscrowStatus.FUNDED,
            kind=EscrowEvent.Kind.FUNDED,
            fields={"client_total": 0},
        )
    escrow.refresh_from_db()
    assert escrow.status == EscrowStatus.AWAITING_PAYMENT

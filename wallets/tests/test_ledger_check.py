"""Checks other apps add to the ledger check, without wallets importing those apps."""

import pytest

from wallets.selectors import (
    Violation,
    ledger_check_register,
    ledger_check_unregister,
    ledger_checks_registered,
    ledger_invariant_violations,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _registry():
    # The registry is process-wide: what a test registers goes away after it.
    yield
    ledger_check_unregister(name="widget_count")


def test_a_registered_check_reports_each_of_its_rows_as_a_sentence():
    ledger_check_register(
        name="widget_count", sql="SELECT 7, 'USD' UNION ALL SELECT 8, 'EUR'", message="Widget {0} in {1}."
    )

    assert ledger_invariant_violations() == [
        Violation("widget_count", "Widget 7 in USD."),
        Violation("widget_count", "Widget 8 in EUR."),
    ]


def test_registering_a_name_again_replaces_its_check():
    ledger_check_register(name="widget_count", sql="SELECT 7", message="Widget {0}.")
    ledger_check_register(name="widget_count", sql="SELECT 7 WHERE false", message="Widget {0}.")

    assert ledger_invariant_violations() == []


def test_payments_registers_its_escrow_check_when_the_app_loads():
    assert "escrow_balance_mismatch" in ledger_checks_registered()


def test_a_built_in_check_cannot_be_replaced():
    with pytest.raises(ValueError):
        ledger_check_register(name="balance_mismatch", sql="SELECT 1 WHERE false", message="never")

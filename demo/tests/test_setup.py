import pytest
from django.core.management import call_command

from accounts.models import User
from marketplace.models import Offer, Task

pytestmark = pytest.mark.django_db


def test_setup_loads_demo_data_once(stripe_emulator):
    call_command("holdfast_setup")
    counts = (User.objects.count(), Task.objects.count(), Offer.objects.count())
    call_command("holdfast_setup")
    assert (User.objects.count(), Task.objects.count(), Offer.objects.count()) == counts
    assert counts[1] == 5 and counts[2] == 9  # the four open tasks, and one paid, delivered and disputed
    from disputes.models import Dispute

    assert Dispute.objects.get().escrow.task.title == "Mount a TV on a plaster wall"
    admin = User.objects.get(email="admin@holdfast.test")
    assert admin.is_superuser and admin.check_password("holdfast-demo")
    assert User.objects.get(email="finance@holdfast.test").groups.filter(name="Finance").exists()


def test_setup_without_stripe_reachable_still_loads_demo_data(settings):
    settings.STRIPE_EMULATOR_URL = "http://127.0.0.1:9"
    call_command("holdfast_setup")
    assert Task.objects.count() == 4  # no half-made disputed task either


def test_setup_gives_the_demo_client_a_saved_card_and_a_topped_up_wallet_once(stripe_emulator):
    from payments.cards import cards_for_client
    from payments.models import WalletTopUp
    from wallets.selectors import ledger_invariant_violations, wallet_account_find

    call_command("holdfast_setup")
    call_command("holdfast_setup")
    client = User.objects.get(email="client@holdfast.test")
    assert [c.last4 for c in cards_for_client(user=client)] == ["4242"]
    assert WalletTopUp.objects.filter(client=client).count() == 1
    assert str(wallet_account_find(user=client, currency="USD").balance) == "250.00"
    assert ledger_invariant_violations() == []

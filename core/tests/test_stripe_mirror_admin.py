"""The back office shows dj-stripe's mirror of Stripe as a few read-only pages."""

import re

import pytest
from django.urls import NoReverseMatch, reverse
from djstripe.models import Customer

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MIRRORED = {
    "paymentintent",
    "charge",
    "refund",
    "dispute",
    "customer",
    "account",
    "transfer",
    "payout",
    "event",
    "webhookendpoint",
}


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_admin_index_lists_only_the_useful_stripe_models_in_their_own_group(superuser_client):
    html = superuser_client.get(reverse("admin:index")).content.decode()
    listed = set(re.findall(r'href="/admin/djstripe/([a-z0-9]+)/"', html))
    assert listed == MIRRORED
    assert "/admin/djstripe/" in html and "add/" not in "".join(re.findall(r'href="/admin/djstripe/[^"]*"', html))
    assert "Stripe mirror (read-only)" in html
    # What staff never need is gone, pages included.
    for hidden in ("coupon", "subscription", "invoice", "product", "apikey", "idempotencykey"):
        with pytest.raises(NoReverseMatch):
            reverse(f"admin:djstripe_{hidden}_changelist")


def test_the_mirror_is_read_only(superuser_client):
    customer = Customer.objects.create(id="cus_mirror_test", livemode=False)
    change = reverse("admin:djstripe_customer_change", args=[customer.pk])

    page = superuser_client.get(change)
    assert page.status_code == 200
    assert "cus_mirror_test" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()

    assert superuser_client.post(change, {"id": "cus_changed", "livemode": "on"}).status_code == 403
    assert superuser_client.post(reverse("admin:djstripe_customer_add"), {"id": "cus_new"}).status_code == 403
    delete = reverse("admin:djstripe_customer_delete", args=[customer.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    assert Customer.objects.filter(id="cus_mirror_test").exists()
    assert not Customer.objects.filter(id__in=["cus_changed", "cus_new"]).exists()

    # No bulk actions (dj-stripe's re-sync ones call Stripe): no action form on the list.
    listing = superuser_client.get(reverse("admin:djstripe_customer_changelist")).content.decode()
    assert 'name="action"' not in listing


@pytest.mark.parametrize("model", sorted(MIRRORED))
def test_each_mirror_list_opens(superuser_client, model):
    assert superuser_client.get(reverse(f"admin:djstripe_{model}_changelist")).status_code == 200

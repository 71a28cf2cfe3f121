"""The bell, the notifications page (mark one or all read), preferences, and the API for the apps."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from notifications.models import Channel, Notification, NotificationPreference

pytestmark = pytest.mark.django_db


def notify(user, n: int = 1, **kwargs) -> list[Notification]:
    return [
        Notification.objects.create(
            recipient=user,
            kind="escrow_funded",
            title=kwargs.get("title", f"Payment held {i}"),
            body="Money is held.",
            link="/wallet/",
            dedupe_key=f"test:{user.pk}:{i}:{kwargs.get('title', '')}",
        )
        for i in range(n)
    ]


def test_the_bell_counts_unread_and_the_page_marks_them_read(client):
    user, other = UserFactory(), UserFactory()
    first, second, _ = notify(user, 3)
    notify(other, 2)
    client.force_login(user)

    page = client.get(reverse("notifications:list"))
    html = page.content.decode()
    assert "data-live-unread>3</span>" in html  # the header's bell
    assert "Payment held 0" in html and html.count('class="notification unread"') == 3

    # Open one: marked read, and taken where it points.
    response = client.post(reverse("notifications:read", args=[first.pk]), {"open": "1"})
    assert response.status_code == 302 and response["Location"] == "/wallet/"
    first.refresh_from_db()
    assert first.read_at is not None
    assert "data-live-unread>2</span>" in client.get("/wallet/").content.decode()

    # Someone else's: nothing happens to it.
    theirs = other.notifications.first()
    client.post(reverse("notifications:read", args=[theirs.pk]))
    theirs.refresh_from_db()
    assert theirs.read_at is None

    client.post(reverse("notifications:read_all"))
    assert not user.notifications.filter(read_at__isnull=True).exists()
    assert other.notifications.filter(read_at__isnull=True).count() == 2
    assert "data-live-unread hidden>0</span>" in client.get(reverse("notifications:list")).content.decode()


def test_preferences_page_turns_a_kind_off_by_email(client):
    user = UserFactory()
    client.force_login(user)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'name="escrow_funded:email" aria-label' in page and "checked" in page

    # Every box ticked but one.
    from notifications.registry import KINDS

    ticked = {f"{kind}:{channel}": "on" for kind in KINDS for channel in Channel.values}
    del ticked["escrow_funded:email"]
    client.post(reverse("notifications:preferences"), ticked)
    assert NotificationPreference.objects.get(user=user, kind="escrow_funded", channel="email").enabled is False
    assert NotificationPreference.objects.get(user=user, kind="escrow_funded", channel="in_app").enabled is True


def test_logged_out_people_get_the_log_in_page_and_no_bell(client):
    assert client.get(reverse("notifications:list"))["Location"].startswith("/accounts/login/")
    assert "data-live-socket" not in client.get("/").content.decode()


def test_api_lists_my_notifications_and_marks_them_read(api_client):
    user, other = UserFactory(), UserFactory()
    mine = notify(user, 2)
    theirs = notify(other, 1)[0]
    api_client.force_authenticate(user)

    listing = api_client.get("/api/v1/notifications/").json()
    assert listing["count"] == 2
    assert set(listing["results"][0]) == {"id", "kind", "title", "body", "link", "read_at", "created"}
    assert api_client.get("/api/v1/notifications/unread/").json() == {"unread": 2}

    read = api_client.post(f"/api/v1/notifications/{mine[0].pk}/read/")
    assert read.status_code == 200 and read.json()["read_at"]
    assert api_client.get("/api/v1/notifications/?unread=true").json()["count"] == 1

    not_mine = api_client.post(f"/api/v1/notifications/{theirs.pk}/read/")
    assert not_mine.status_code == 404 and not_mine.json()["error"]["code"] == "notification_not_found"

    assert api_client.post("/api/v1/notifications/read-all/").json() == {"marked_read": 1, "unread": 0}
    assert other.notifications.get().read_at is None


def test_api_refuses_a_bad_filter_and_anonymous_callers(api_client):
    user = UserFactory()
    assert api_client.get("/api/v1/notifications/").status_code == 401
    api_client.force_authenticate(user)
    bad = api_client.get("/api/v1/notifications/?unread=perhaps")
    assert bad.status_code == 400 and bad.json()["error"]["code"]


def test_staff_see_who_was_told_what_in_the_back_office(client, django_user_model):
    admin = django_user_model.objects.create_superuser("boss@example.com", "pw-123456789")
    note = notify(UserFactory(), 1, title="Payment held for the fence")[0]
    client.force_login(admin)
    listing = client.get("/admin/notifications/notification/")
    assert listing.status_code == 200 and "Payment held for the fence" in listing.content.decode()
    assert client.get(f"/admin/notifications/notification/{note.pk}/change/").status_code == 200
    assert client.get("/admin/notifications/notification/add/").status_code == 403  # nobody writes them by hand


def test_payout_dispute_and_wallet_kinds_have_preferences_like_the_others(client, django_capture_on_commit_callbacks):
    from django.core import mail

    from notifications.services import event_notify
    from payouts.events import PayoutAccountUpdated

    user = UserFactory()
    client.force_login(user)
    page = client.get(reverse("notifications:preferences")).content.decode()
    kinds = ("payout_paid", "payout_failed", "dispute_opened", "dispute_ruled", "chargeback_opened", "wallet_topped_up")
    for kind in kinds:
        assert f'name="{kind}:email"' in page and f'name="{kind}:in_app"' in page

    NotificationPreference.objects.create(user=user, kind="payout_account", channel="email", enabled=False)
    event = PayoutAccountUpdated(
        tasker_id=user.pk, account_reference="acct_x", status="enabled", requirements_due=(), became_enabled=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        [notification] = event_notify(event=event).created
    assert notification.in_app and notification.email_status == "not_wanted"
    assert mail.outbox == []

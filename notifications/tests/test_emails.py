"""Emails: one per notification, text and HTML, sent by a Celery task after the commit, retried
when the mail server fails, at most once, and only when the person wants them."""

from smtplib import SMTPServerDisconnected

import pytest
from celery import current_app
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from notifications.models import Channel, Notification
from notifications.services import preferences_set
from payments.models import Escrow
from payments.tests.factories import escrow_awaiting_payment, escrow_funded, escrow_pay

pytestmark = pytest.mark.django_db


class FlakyBackend(EmailBackend):
    """The mail server drops the first ``failures_left`` connections, then works."""

    failures_left = 1

    def send_messages(self, messages):
        if FlakyBackend.failures_left:
            FlakyBackend.failures_left -= 1
            raise SMTPServerDisconnected("connection dropped")
        return super().send_messages(messages)


@pytest.fixture
def retries_do_not_propagate():
    # Eager tasks run their retries at once; a real worker would run them later, never raising
    # into the code that queued the task.
    previous = current_app.conf.task_eager_propagates
    current_app.conf.task_eager_propagates = False
    yield
    current_app.conf.task_eager_propagates = previous


def test_a_failing_mail_server_neither_blocks_the_payment_nor_loses_the_email(
    stripe_emulator, settings, django_capture_on_commit_callbacks, retries_do_not_propagate
):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.failures_left = 2  # the first two emails fail once each
    with django_capture_on_commit_callbacks(execute=True):
        escrow = escrow_funded(amount="100.00")
    assert Escrow.objects.get(pk=escrow.pk).status == Escrow.Status.FUNDED  # the payment stands
    assert FlakyBackend.failures_left == 0  # the mail server failed twice…
    # …and each party's task retried and sent: one email each, none twice.
    funded = [m for m in mail.outbox if "held in escrow" in m.subject or "You can start" in m.subject]
    assert sorted(m.to[0] for m in funded) == sorted([escrow.client.email, escrow.tasker.email])
    assert set(Notification.objects.filter(kind="escrow_funded").values_list("email_status", flat=True)) == {"sent"}


class DeadBackend(EmailBackend):
    def send_messages(self, messages):
        raise SMTPServerDisconnected("no mail server")


def test_an_email_that_never_goes_is_marked_failed_not_lost(
    stripe_emulator, settings, django_capture_on_commit_callbacks, retries_do_not_propagate
):
    settings.EMAIL_BACKEND = f"{__name__}.DeadBackend"
    with django_capture_on_commit_callbacks(execute=True):
        escrow = escrow_funded(amount="100.00")
    notification = Notification.objects.get(kind="escrow_funded", recipient=escrow.client)
    assert notification.email_status == Notification.EmailStatus.FAILED
    assert notification.in_app and notification.read_at is None  # still shown in the app


def test_no_email_before_the_payment_commits(stripe_emulator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        escrow_funded(amount="100.00")
    assert mail.outbox == [] and callbacks  # queued for after the commit, not sent inline
    assert not Notification.objects.exists()


def test_preferences_choose_the_channels(stripe_emulator, django_capture_on_commit_callbacks):
    escrow = escrow_awaiting_payment()
    preferences_set(user=escrow.client, choices=[("escrow_funded", Channel.EMAIL, False)])
    preferences_set(user=escrow.tasker, choices=[("escrow_funded", Channel.IN_APP, False)])
    with django_capture_on_commit_callbacks(execute=True):
        escrow_pay(escrow)
    assert [m.to[0] for m in mail.outbox if "start" in m.subject or "escrow" in m.subject] == [escrow.tasker.email]
    client_note = Notification.objects.get(kind="escrow_funded", recipient=escrow.client)
    tasker_note = Notification.objects.get(kind="escrow_funded", recipient=escrow.tasker)
    assert client_note.in_app and client_note.email_status == "not_wanted"
    assert not tasker_note.in_app and tasker_note.email_status == "sent"
    assert not escrow.tasker.notifications.filter(in_app=True).filter(kind="escrow_funded").exists()


def test_an_unknown_preference_is_refused_and_changes_nothing(django_user_model):
    from core.errors import ValidationError

    user = django_user_model.objects.create_user("p@example.com", "pw-123456789")
    with pytest.raises(ValidationError) as refused:
        preferences_set(
            user=user, choices=[("escrow_funded", Channel.EMAIL, False), ("no_such_kind", Channel.EMAIL, False)]
        )
    assert refused.value.code == "preference_invalid"
    assert not user.notification_preferences.exists()

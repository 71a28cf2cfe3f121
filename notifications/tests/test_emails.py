"""Emails are sent by a Celery task after the payment commits, and retried when the mail server fails."""

from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from payments.models import Escrow
from payments.tests.factories import escrow_funded

pytestmark = pytest.mark.django_db


class FlakyBackend(EmailBackend):
    """The mail server drops the first connection, then works."""

    failures_left = 1

    def send_messages(self, messages):
        if FlakyBackend.failures_left:
            FlakyBackend.failures_left -= 1
            raise SMTPServerDisconnected("connection dropped")
        return super().send_messages(messages)


def test_a_failing_mail_server_neither_blocks_the_payment_nor_loses_the_email(
    stripe_emulator, settings, django_capture_on_commit_callbacks
):
    from notifications.tasks import escrow_funded_email

    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.failures_left = 1
    with django_capture_on_commit_callbacks(execute=True):
        escrow = escrow_funded(amount="100.00")
    assert Escrow.objects.get(pk=escrow.pk).status == Escrow.Status.FUNDED  # the payment stands
    notices = lambda: [m for m in mail.outbox if "receipt" not in m.subject]  # noqa: E731  (reporting mails the receipt)
    assert FlakyBackend.failures_left == 0 and notices() == []  # the mail server failed…

    # …and each party's task retries (Celery runs the retry at once when tasks are eager), then
    # sends: one email each, none twice.
    for role in ("client", "tasker"):
        FlakyBackend.failures_left = 1
        assert escrow_funded_email.apply(args=[escrow.pk, role], throw=False).state == "SUCCESS"
        assert FlakyBackend.failures_left == 0
    assert sorted(m.to[0] for m in notices()) == sorted([escrow.client.email, escrow.tasker.email])


def test_no_email_before_the_payment_commits(stripe_emulator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        escrow_funded(amount="100.00")
    assert mail.outbox == [] and callbacks  # queued for after the commit, not sent inline

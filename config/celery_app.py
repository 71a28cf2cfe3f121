"""The Celery application. Settings come from Django's settings under the ``CELERY_`` namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("holdfast")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Money tasks are declared with ``acks_late=True`` (``processors.tasks.MONEY_TASK``) so a worker that
# dies mid-task leaves the message to be redelivered; every such task is idempotent.

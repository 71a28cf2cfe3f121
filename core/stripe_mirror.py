"""dj-stripe as Holdfast installs it: the local mirror of Stripe objects, named for the back office.

The app keeps its label (``djstripe``: tables, migrations and permissions are unchanged); only
the heading the admin index shows it under differs. Its admin pages are in ``core.admin``.
"""

from djstripe.apps import DjstripeAppConfig


class StripeMirrorConfig(DjstripeAppConfig):
    verbose_name = "Stripe mirror (read-only)"

"""Logging filters referenced by ``LOGGING`` in the settings."""

from __future__ import annotations

import logging


class ClientErrorsOnOneLine(logging.Filter):
    """A refused request (4xx) is the client's mistake, not ours: one warning line, no traceback.

    Django logs a ``PermissionDenied`` with the exception's traceback; for a 403 that is noise
    that hides real errors. 5xx records keep their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status_code = getattr(record, "status_code", None)
        if status_code is not None and 400 <= status_code < 500 and record.exc_info:
            exception = record.exc_info[1]
            reason = str(exception) if exception is not None else ""
            if reason:
                record.msg = f"{record.msg} (%s)"
                record.args = (*(record.args or ()), reason.splitlines()[0])
            record.exc_info = None
            record.exc_text = None
        return True

"""Application errors: what a user is told when Holdfast refuses to do something.

Every refusal carries a stable machine ``code`` and a sentence a person understands. The API's
exception handler turns them into ``{"error": {"code", "message", "details"}}``; pages show
the message next to the form.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    default_code = "invalid_request"
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, code: str | None = None, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.details = details or {}
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class ValidationError(ApplicationError):
    status_code = 400
    default_code = "validation_error"
    default_message = "Some of the information given is not valid."


class PermissionDenied(ApplicationError):
    status_code = 403
    default_code = "permission_denied"
    default_message = "You are not allowed to do that."


class NotFound(ApplicationError):
    status_code = 404
    default_code = "not_found"
    default_message = "Not found."


class Conflict(ApplicationError):
    """The request is valid but the object's current state does not allow it."""

    status_code = 409
    default_code = "conflict"
    default_message = "That cannot be done in the current state."


class InvalidTransition(Conflict):
    default_code = "invalid_transition"

    def __init__(self, obj: Any, *, to: str, message: str | None = None, code: str | None = None):
        label = obj._meta.verbose_name if hasattr(obj, "_meta") else type(obj).__name__
        current = getattr(obj, "status", "?")
        super().__init__(
            message or f"This {label} is {str(current).replace('_', ' ')} and cannot become {to.replace('_', ' ')}.",
            code=code,
            details={"status": str(current), "to": to},
        )

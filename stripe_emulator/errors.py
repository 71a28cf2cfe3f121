"""Stripe-shaped API errors. The SDK picks its exception class from the HTTP status and `type`."""

DOC_BASE = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    def __init__(self, message, *, type="invalid_request_error", status=400, code=None, param=None, extra=None):
        super().__init__(message)
        self.message = message
        self.type = type
        self.status = status
        self.code = code
        self.param = param
        self.extra = extra or {}

    def body(self):
        err = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = DOC_BASE + self.code.replace("_", "-")
        if self.param:
            err["param"] = self.param
        err.update(self.extra)
        return {"error": err}


def invalid(message, param=None, code=None):
    return StripeError(message, param=param, code=code)


def missing_param(param):
    return StripeError(f"Missing required param: {param}.", param=param, code="parameter_missing")


def not_found(label, obj_id, param="id"):
    return StripeError(f"No such {label}: '{obj_id}'", status=404, code="resource_missing", param=param)


def unexpected_state(message, extra=None):
    return StripeError(message, code="payment_intent_unexpected_state", extra=extra)


def authentication(message):
    return StripeError(message, status=401)


def idempotency(message):
    return StripeError(message, type="idempotency_error", status=400)


def balance_insufficient(message=None):
    return StripeError(
        message
        or (
            "You have insufficient available funds in your Stripe account. Try adding funds "
            "directly to your available balance by creating Charges using the "
            "4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance"
        ),
        code="balance_insufficient",
    )


def rate_limited():
    """Stripe's 429 for a request over its rate limit (the rate-limit knob and injected faults)."""
    return StripeError(
        "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
        type="invalid_request_error",
        status=429,
        code="rate_limit",
    )

"""One routing table for the Stripe API surface and the emulator-only endpoints."""

import hashlib
import json
import re

from . import errors, ids

ROUTES = []


def route(method, pattern):
    regex = re.compile("^" + pattern + "$")

    def deco(fn):
        ROUTES.append((method, regex, fn))
        return fn

    return deco


class Response:
    """A non-JSON response (HTML pages, redirects) from an emulator-only endpoint."""

    def __init__(self, status=200, body=b"", content_type="text/html; charset=utf-8", headers=None):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = headers or {}


def redirect(url):
    return Response(303, b"", headers={"Location": url})


class Request:
    def __init__(self, store, method, path, params, headers, base_url):
        self.store = store
        self.method = method
        self.path = path
        self.params = params
        self.headers = headers
        self.base_url = base_url
        self.account = headers.get("stripe-account") or None
        self.api_key = None
        self.idempotency_key = headers.get("idempotency-key") if method == "POST" else None
        self.request_id = ids.new_id("request")
        self.dispatcher = None
        self.server = None

    @property
    def expand(self):
        value = self.params.get("expand") or []
        return value if isinstance(value, list) else [value]

    # Parameter coercion: the form encoding carries everything as strings.
    def str(self, name, required=False, default=None):
        value = self.params.get(name)
        if value in (None, ""):
            if required:
                raise errors.missing_param(name)
            return default
        if not isinstance(value, str):
            raise errors.invalid(f"Invalid string: {value!r}", param=name)
        return value

    def int(self, name, required=False, default=None, minimum=None):
        value = self.str(name, required=required)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise errors.invalid(f"Invalid integer: {value}", param=name)
        if minimum is not None and number < minimum:
            raise errors.invalid(f"This value must be greater than or equal to {minimum}.", param=name)
        return number

    def bool(self, name, default=False):
        value = self.params.get(name)
        if value in (None, ""):
            return default
        if value in ("true", "false"):
            return value == "true"
        raise errors.invalid(f"Invalid boolean: {value}", param=name)

    def dict(self, name):
        value = self.params.get(name)
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise errors.invalid("Invalid hash", param=name)
        return value

    def currency(self, required=True):
        value = self.str("currency", required=required)
        return value.lower() if value else value

    def render(self, obj):
        return self.store.render(obj, self.expand)

    def list(self, name, url, predicate=None):
        return self.store.list_response(name, self.account, url, self.params, predicate, self.expand)


def merge_metadata(obj, metadata):
    """Stripe semantics: keys merge, an empty value deletes the key, `metadata=''` clears all."""
    if metadata == "":
        obj["metadata"] = {}
        return
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise errors.invalid("Invalid hash", param="metadata")
    current = dict(obj.get("metadata") or {})
    for key, value in metadata.items():
        if value == "":
            current.pop(key, None)
        else:
            current[key] = value
    obj["metadata"] = current


def match(method, path):
    allowed = False
    for m, regex, fn in ROUTES:
        found = regex.match(path)
        if found:
            if m == method:
                return fn, found.groupdict()
            allowed = True
    return None, allowed


def _file_fingerprint(value):
    # An uploaded file (POST /v1/files) is compared by its name and content.
    return [value.filename, hashlib.sha256(value.content).hexdigest()]


def _fingerprint(req):
    raw = json.dumps([req.method, req.path, req.params], sort_keys=True, default=_file_fingerprint)
    return hashlib.sha256(raw.encode()).hexdigest()


def _authenticate(req):
    auth = req.headers.get("authorization", "")
    if not auth:
        raise errors.authentication(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
        )
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not key.startswith("sk_test_"):
        shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if key else auth
        raise errors.authentication(f"Invalid API Key provided: {shown}")
    req.api_key = key


def dispatch_api(req):
    """Handle a /v1 request. Returns (status, body_dict, extra_headers)."""
    from .resources import process_due  # imported late: resources register routes on import

    store = req.store
    headers = {"Request-Id": req.request_id}
    try:
        _authenticate(req)
    except errors.StripeError as exc:
        return exc.status, exc.body(), headers
    from .resources.rate_limit import refusal

    limited = refusal(req)
    if limited is not None:
        return limited.status, limited.body(), headers
    fn, kwargs = match(req.method, req.path)
    if fn is None:
        exc = errors.StripeError(
            f"Unrecognized request URL ({req.method}: {req.path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
            status=404,
        )
        return exc.status, exc.body(), headers

    with store.lock:
        process_due(store)
        idem_slot = None
        if req.idempotency_key:
            headers["Idempotency-Key"] = req.idempotency_key
            idem_slot = f"{req.account or ''}|{req.api_key}|{req.idempotency_key}"
            saved = store.data["idempotency"].get(idem_slot)
            if saved is not None:
                if saved["fingerprint"] != _fingerprint(req):
                    exc = errors.idempotency(
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{req.idempotency_key}' if you meant to execute a different request."
                    )
                    return exc.status, exc.body(), headers
                headers["Idempotent-Replayed"] = "true"
                headers["Original-Request"] = saved["request_id"]
                return saved["status"], json.loads(saved["body"]), headers
        if req.account and req.account != store.platform_id:
            acct = store.coll("accounts").get(req.account)
            if acct is None or acct.get("deleted"):
                exc = errors.StripeError(
                    f"The provided key '{req.api_key[:12]}***' does not have access to account "
                    f"'{req.account}' (or that account does not exist). Application access may "
                    "have been revoked.",
                    type="invalid_request_error",
                    status=403,
                    code="account_invalid",
                )
                return exc.status, exc.body(), headers
        if req.account == store.platform_id:
            req.account = None
        try:
            status, body = 200, fn(req, **kwargs)
        except errors.StripeError as exc:
            status, body = exc.status, exc.body()
        if idem_slot and status < 500:
            store.data["idempotency"][idem_slot] = {
                "fingerprint": _fingerprint(req),
                "status": status,
                "body": json.dumps(body),
                "request_id": req.request_id,
                "created": store.now(),
            }
        return status, body, headers


def dispatch_emulator(req):
    from .resources import process_due

    fn, kwargs = match(req.method, req.path)
    if fn is None:
        return (
            404,
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": f"Unknown emulator endpoint {req.method} {req.path}",
                }
            },
            {},
        )
    try:
        if getattr(fn, "unlocked", False):
            # Must not hold the state lock: it may wait on webhook receivers that call back in.
            result = fn(req, **kwargs)
        else:
            with req.store.lock:
                process_due(req.store)
                result = fn(req, **kwargs)
    except errors.StripeError as exc:
        return exc.status, exc.body(), {}
    if isinstance(result, Response):
        return result
    return 200, result, {}

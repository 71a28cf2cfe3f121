"""All emulator state behind one re-entrant lock, with JSON persistence.

Stored objects are plain dicts in Stripe's wire shape. Keys starting with `_`
are emulator bookkeeping (owning account, insertion order, test behaviours)
and are stripped when rendering.
"""

import copy
import json
import os
import tempfile
import threading

from . import API_VERSION, errors, ids
from .clock import Clock

COLLECTIONS = {
    # collection name -> (object value, label used in "No such ..." errors)
    "accounts": ("account", "account"),
    "customers": ("customer", "customer"),
    "payment_methods": ("payment_method", "PaymentMethod"),
    "payment_intents": ("payment_intent", "payment_intent"),
    "charges": ("charge", "charge"),
    "balance_transactions": ("balance_transaction", "balance transaction"),
    "refunds": ("refund", "refund"),
    "transfers": ("transfer", "transfer"),
    "transfer_reversals": ("transfer_reversal", "transfer reversal"),
    "payouts": ("payout", "payout"),
    "disputes": ("dispute", "dispute"),
    "events": ("event", "event"),
    "webhook_endpoints": ("webhook_endpoint", "webhook endpoint"),
    "bank_accounts": ("bank_account", "external account"),
    "account_links": ("account_link", "account link"),
    "login_links": ("login_link", "login link"),
    "files": ("file", "file"),
    "setup_intents": ("setup_intent", "setup_intent"),
    "ephemeral_keys": ("ephemeral_key", "ephemeral key"),
}
_BY_PREFIX = {}
for _coll, (_obj, _label) in COLLECTIONS.items():
    if _obj in ids.PREFIXES:
        _BY_PREFIX[ids.PREFIXES[_obj] + "_"] = _coll

# Functions filling computed fields at render time (e.g. a charge's `refunds` list).
RENDER_HOOKS = {}


def render_hook(object_value):
    def deco(fn):
        RENDER_HOOKS[object_value] = fn
        return fn

    return deco


class Store:
    def __init__(self, state_path=None):
        self.lock = threading.RLock()
        self.state_path = state_path
        self.clock = Clock()
        # Events produced by the request being handled; the server hands them
        # to the webhook dispatcher as one batch once the request completes.
        self.event_batch = []
        self.reset()
        if state_path and os.path.exists(state_path):
            self.load()

    # ---- lifecycle / persistence -------------------------------------------------
    def reset(self):
        with self.lock:
            self.data = {
                "objects": {name: {} for name in COLLECTIONS},
                "seq": 0,
                "idempotency": {},
                "platform_account": None,
            }
            self.clock.offset = 0
            self.event_batch = []
            self._ensure_platform()

    def _ensure_platform(self):
        if self.data["platform_account"]:
            return
        from .resources.accounts import new_account  # local: resources import the store module

        acct = new_account(self, {"type": "standard", "country": "US", "email": "platform@example.com"})
        acct.update(details_submitted=True, charges_enabled=True, payouts_enabled=True)
        acct["_platform"] = True
        self.add("accounts", acct, account=None)
        self.data["platform_account"] = acct["id"]

    def load(self):
        with open(self.state_path, encoding="utf-8") as fh:
            saved = json.load(fh)
        with self.lock:
            self.data = saved["data"]
            for name in COLLECTIONS:
                self.data["objects"].setdefault(name, {})
            self.clock.offset = saved.get("clock_offset", 0)

    def save(self):
        if not self.state_path:
            return
        with self.lock:
            payload = json.dumps({"data": self.data, "clock_offset": self.clock.offset})
        directory = os.path.dirname(os.path.abspath(self.state_path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".stripe-emulator-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(payload)
        # os.replace is atomic on POSIX, so a crash never leaves a half-written file.
        os.replace(tmp, self.state_path)

    # ---- object access -----------------------------------------------------------
    def now(self):
        return self.clock.now()

    @property
    def platform_id(self):
        return self.data["platform_account"]

    def coll(self, name):
        return self.data["objects"][name]

    def add(self, name, obj, account):
        self.data["seq"] += 1
        obj["_seq"] = self.data["seq"]
        obj["_account"] = account
        self.coll(name)[obj["id"]] = obj
        return obj

    def get(self, name, obj_id, account=None, param="id", any_account=False):
        obj = self.coll(name).get(obj_id) if isinstance(obj_id, str) else None
        if obj is None or (not any_account and obj.get("_account") != account):
            raise errors.not_found(COLLECTIONS[name][1], obj_id, param=param)
        return obj

    def find(self, obj_id):
        """Look an object up by id alone (used by `expand`)."""
        if not isinstance(obj_id, str):
            return None
        for prefix, name in _BY_PREFIX.items():
            if obj_id.startswith(prefix):
                return self.coll(name).get(obj_id)
        return None

    # ---- rendering ---------------------------------------------------------------
    def render(self, obj, expand=()):
        out = {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}
        hook = RENDER_HOOKS.get(out.get("object"))
        if hook:
            hook(self, obj, out)
        for path in expand or ():
            self._expand(out, path.split("."))
        return out

    def _expand(self, node, parts):
        if not parts or not isinstance(node, dict):
            return
        head, rest = parts[0], parts[1:]
        if head == "data" and isinstance(node.get("data"), list):
            for item in node["data"]:
                self._expand(item, rest)
            return
        value = node.get(head)
        if isinstance(value, str):
            target = self.find(value)
            if target is not None:
                node[head] = value = self.render(target)
        if isinstance(value, dict):
            self._expand(value, rest)

    def list_response(self, name, account, url, params, predicate=None, expand=()):
        items = [o for o in self.coll(name).values() if o.get("_account") == account]
        if predicate:
            items = [o for o in items if predicate(o)]
        items = _apply_created_filter(items, params.get("created"))
        items.sort(key=lambda o: (o.get("created", 0), o["_seq"]), reverse=True)
        try:
            limit = max(1, min(100, int(params.get("limit", 10))))
        except ValueError:
            raise errors.invalid(f"Invalid integer: {params.get('limit')}", param="limit")
        if params.get("starting_after"):
            idx = _index_of(items, params["starting_after"], "starting_after")
            items = items[idx + 1 :]
            page = items[:limit]
        elif params.get("ending_before"):
            idx = _index_of(items, params["ending_before"], "ending_before")
            page = items[max(0, idx - limit) : idx]
            items = items[:idx]
        else:
            page = items[:limit]
        data = [self.render(o) for o in page]
        sub = [p[len("data.") :] for p in expand if p.startswith("data.")]
        for item in data:
            for path in sub:
                self._expand(item, path.split("."))
        return {"object": "list", "data": data, "has_more": len(items) > len(page), "url": url}

    # ---- events ------------------------------------------------------------------
    def emit(self, event_type, obj, account=None, req=None, previous_attributes=None):
        """Record an event. `account` is set for events on connected accounts."""
        event = {
            "id": ids.new_id("event"),
            "object": "event",
            "account": account,
            "api_version": API_VERSION,
            "context": None,
            "created": self.now(),
            "data": {"object": self.render(obj)},
            "livemode": False,
            "pending_webhooks": 0,
            "request": {
                "id": req.request_id if req else None,
                "idempotency_key": req.idempotency_key if req else None,
            },
            "type": event_type,
        }
        if previous_attributes:
            event["data"]["previous_attributes"] = previous_attributes
        self.add("events", event, account=account)
        self.event_batch.append(event)
        return event

    def take_event_batch(self):
        with self.lock:
            batch, self.event_batch = self.event_batch, []
            return batch


def _index_of(items, obj_id, param):
    for i, o in enumerate(items):
        if o["id"] == obj_id:
            return i
    raise errors.invalid(f"Invalid {param}: object {obj_id} not found in this list", param=param)


def _apply_created_filter(items, created):
    if created is None:
        return items
    if isinstance(created, str):
        return [o for o in items if o.get("created") == int(created)]
    ops = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}
    for op, bound in created.items():
        if op in ops:
            items = [o for o in items if ops[op](o.get("created", 0), int(bound))]
    return items

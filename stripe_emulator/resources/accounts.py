"""Connect accounts, external bank accounts, account links and onboarding."""

from .. import errors, ids
from ..router import merge_metadata, route
from ..store import render_hook

ONBOARDING_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "representative.first_name",
    "representative.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]

# Stripe's test bank tokens / account numbers and the payout failure each one triggers.
BANK_TOKENS = {
    "btok_us_verified": ("000123456789", None),
    "btok_us_verified_noAccount": ("000111111113", "no_account"),
    "btok_us_verified_accountClosed": ("000111111116", "account_closed"),
    "btok_us_verified_insufficientFunds": ("000222222227", "insufficient_funds"),
}
FAILING_ACCOUNT_NUMBERS = {number: code for number, code in BANK_TOKENS.values() if code}


def _requirements(due):
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": "requirements.past_due" if due else None,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
    }


def new_account(store, params):
    acct_type = params.get("type") or "express"
    requested = params.get("capabilities") or {}
    if not isinstance(requested, dict):
        raise errors.invalid("Invalid hash", param="capabilities")
    caps = {name: "inactive" for name, v in requested.items() if isinstance(v, dict) and v.get("requested") == "true"}
    if acct_type == "express" and not caps:
        caps = {"card_payments": "inactive", "transfers": "inactive"}
    country = (params.get("country") or "US").upper()
    account = {
        "id": ids.new_id("account"),
        "object": "account",
        "business_profile": {
            "annual_revenue": None,
            "estimated_worker_count": None,
            "mcc": None,
            "name": None,
            "product_description": None,
            "support_address": None,
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": None,
            **(params.get("business_profile") or {}),
        },
        "business_type": params.get("business_type"),
        "capabilities": caps,
        "charges_enabled": False,
        "company": None,
        "controller": {
            "fees": {"payer": "application"},
            "is_controller": True,
            "losses": {"payments": "application"},
            "requirement_collection": "stripe",
            "stripe_dashboard": {"type": acct_type if acct_type in ("express", "none") else "full"},
            "type": "application",
        },
        "country": country,
        "created": store.now(),
        "default_currency": "usd",
        "details_submitted": False,
        "email": params.get("email"),
        "external_accounts": None,
        "future_requirements": _requirements([]),
        "groups": None,
        "individual": None,
        "metadata": {k: v for k, v in (params.get("metadata") or {}).items() if v != ""},
        "payouts_enabled": False,
        "requirements": _requirements(ONBOARDING_REQUIREMENTS),
        "settings": {
            "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
            "card_payments": {
                "decline_on": {"avs_failure": False, "cvc_failure": False},
                "statement_descriptor_prefix": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
            "payments": {"statement_descriptor": None},
            "payouts": {
                "debit_negative_balances": True,
                # Stripe's default for a new Express account is an automatic daily schedule.
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": None,
            },
        },
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": acct_type,
    }
    apply_settings(account, params.get("settings"))
    return account


SCHEDULE_INTERVALS = ("manual", "daily", "weekly", "monthly")
WEEKLY_ANCHORS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def apply_settings(acct, settings):
    """``settings[payouts][schedule]`` and ``settings[branding]``, checked as Stripe does."""
    if settings in (None, ""):
        return
    if not isinstance(settings, dict):
        raise errors.invalid("Invalid hash", param="settings")
    payouts = settings.get("payouts") or {}
    schedule = payouts.get("schedule") if isinstance(payouts, dict) else None
    if isinstance(schedule, dict):
        current = acct["settings"]["payouts"]["schedule"]
        interval = schedule.get("interval", current["interval"])
        if interval not in SCHEDULE_INTERVALS:
            raise errors.invalid(
                "Invalid settings[payouts][schedule][interval]: must be one of manual, daily, weekly, or monthly",
                param="settings[payouts][schedule][interval]",
            )
        new = {"delay_days": current.get("delay_days", 2), "interval": interval}
        if "delay_days" in schedule:
            try:
                new["delay_days"] = int(schedule["delay_days"])
            except (TypeError, ValueError):
                raise errors.invalid("Invalid integer", param="settings[payouts][schedule][delay_days]")
        if interval == "weekly":
            anchor = schedule.get("weekly_anchor", current.get("weekly_anchor", "monday"))
            if anchor not in WEEKLY_ANCHORS:
                raise errors.invalid("Invalid weekly_anchor", param="settings[payouts][schedule][weekly_anchor]")
            new["weekly_anchor"] = anchor
        if interval == "monthly":
            try:
                new["monthly_anchor"] = int(schedule.get("monthly_anchor", current.get("monthly_anchor", 1)))
            except (TypeError, ValueError):
                raise errors.invalid("Invalid integer", param="settings[payouts][schedule][monthly_anchor]")
        acct["settings"]["payouts"]["schedule"] = new
    if isinstance(payouts, dict) and "statement_descriptor" in payouts:
        acct["settings"]["payouts"]["statement_descriptor"] = payouts["statement_descriptor"] or None
    branding = settings.get("branding")
    if isinstance(branding, dict):
        for key in ("icon", "logo", "primary_color", "secondary_color"):
            if key in branding:
                acct["settings"]["branding"][key] = branding[key] or None


@render_hook("account")
def _render_account(store, obj, out):
    banks = sorted(
        (b for b in store.coll("bank_accounts").values() if b["account"] == obj["id"]),
        key=lambda b: b["_seq"],
        reverse=True,
    )
    out["external_accounts"] = {
        "object": "list",
        "data": [store.render(b) for b in banks],
        "has_more": False,
        "total_count": len(banks),
        "url": f"/v1/accounts/{obj['id']}/external_accounts",
    }


def add_bank_account(store, acct, token_or_number="btok_us_verified"):
    if token_or_number in BANK_TOKENS:
        number, failure = BANK_TOKENS[token_or_number]
    elif isinstance(token_or_number, str) and token_or_number.isdigit():
        number, failure = token_or_number, FAILING_ACCOUNT_NUMBERS.get(token_or_number)
    else:
        raise errors.invalid(f"No such token: '{token_or_number}'", param="external_account", code="resource_missing")
    for bank in store.coll("bank_accounts").values():
        if bank["account"] == acct["id"]:
            bank["default_for_currency"] = False
    bank = {
        "id": ids.new_id("bank_account"),
        "object": "bank_account",
        "account": acct["id"],
        "account_holder_name": None,
        "account_holder_type": None,
        "account_type": None,
        "available_payout_methods": ["standard"],
        "bank_name": "STRIPE TEST BANK",
        "country": acct["country"],
        "currency": "usd",
        "customer": None,
        "default_for_currency": True,
        "future_requirements": {"currently_due": [], "errors": [], "past_due": [], "pending_verification": []},
        "requirements": {"currently_due": [], "errors": [], "past_due": [], "pending_verification": []},
        "fingerprint": ids.random_token(16),
        "last4": number[-4:],
        "metadata": {},
        "routing_number": "110000000",
        "status": "new",
        "_payout_failure": failure,
    }
    return store.add("bank_accounts", bank, acct["id"])


def default_bank(store, account_id):
    for bank in store.coll("bank_accounts").values():
        if bank["account"] == account_id and bank["default_for_currency"]:
            return bank
    return None


def complete_onboarding(store, acct, req=None, bank="btok_us_verified"):
    previous = {
        "details_submitted": acct["details_submitted"],
        "charges_enabled": acct["charges_enabled"],
        "payouts_enabled": acct["payouts_enabled"],
        "capabilities": dict(acct["capabilities"]),
    }
    if default_bank(store, acct["id"]) is None or bank != "btok_us_verified":
        add_bank_account(store, acct, bank)
    now = store.now()
    acct.update(
        details_submitted=True,
        charges_enabled=True,
        payouts_enabled=True,
        requirements=_requirements([]),
        tos_acceptance={"date": now, "ip": "127.0.0.1", "user_agent": "stripe-emulator"},
    )
    for cap in set(acct["capabilities"]) | {"card_payments", "transfers"}:
        acct["capabilities"][cap] = "active"
    store.emit("account.updated", acct, account=acct["id"], req=req, previous_attributes=previous)
    return acct


def _get_connected(req, acct_id):
    acct = req.store.get("accounts", acct_id, None, param="account")
    if acct.get("deleted"):
        raise errors.not_found("account", acct_id, param="account")
    return acct


@route("POST", r"/v1/accounts")
def create_account(req):
    acct_type = req.str("type", default="express")
    if acct_type not in ("express", "standard", "custom"):
        raise errors.invalid("Invalid type: must be one of custom, express, or standard", param="type")
    acct = req.store.add("accounts", new_account(req.store, req.params), None)
    if req.params.get("external_account"):
        add_bank_account(req.store, acct, req.params["external_account"])
    return req.render(acct)


@route("GET", r"/v1/accounts")
def list_accounts(req):
    platform = req.store.platform_id
    return req.list("accounts", "/v1/accounts", lambda a: a["id"] != platform and not a.get("deleted"))


@route("GET", r"/v1/account")
def retrieve_self(req):
    return req.render(req.store.get("accounts", req.account or req.store.platform_id, None))


@route("GET", r"/v1/accounts/(?P<acct_id>[^/]+)")
def retrieve_account(req, acct_id):
    return req.render(_get_connected(req, acct_id))


@route("POST", r"/v1/accounts/(?P<acct_id>[^/]+)")
def update_account(req, acct_id):
    acct = _get_connected(req, acct_id)
    previous = {}
    for field in ("email", "business_type"):
        if field in req.params:
            previous[field] = acct[field]
            acct[field] = req.params[field] or None
    if isinstance(req.params.get("business_profile"), dict):
        previous["business_profile"] = dict(acct["business_profile"])
        acct["business_profile"].update(req.params["business_profile"])
    if "metadata" in req.params:
        previous["metadata"] = acct["metadata"]
        merge_metadata(acct, req.params["metadata"])
    if isinstance(req.params.get("capabilities"), dict):
        previous["capabilities"] = dict(acct["capabilities"])
        for name, value in req.params["capabilities"].items():
            if isinstance(value, dict) and value.get("requested") == "true":
                acct["capabilities"].setdefault(name, "active" if acct["charges_enabled"] else "inactive")
    if "settings" in req.params:
        previous["settings"] = {k: dict(v) for k, v in acct["settings"].items()}
        apply_settings(acct, req.params["settings"])
    if req.params.get("external_account"):
        add_bank_account(req.store, acct, req.params["external_account"])
    req.store.emit("account.updated", acct, account=acct["id"], req=req, previous_attributes=previous)
    return req.render(acct)


@route("DELETE", r"/v1/accounts/(?P<acct_id>[^/]+)")
def delete_account(req, acct_id):
    acct = _get_connected(req, acct_id)
    if acct["id"] == req.store.platform_id:
        raise errors.invalid("You cannot delete your own account.")
    acct["deleted"] = True
    return {"id": acct["id"], "object": "account", "deleted": True}


@route("POST", r"/v1/accounts/(?P<acct_id>[^/]+)/external_accounts")
def create_external_account(req, acct_id):
    acct = _get_connected(req, acct_id)
    value = req.params.get("external_account")
    if isinstance(value, dict):
        value = value.get("account_number")
    if not value:
        raise errors.missing_param("external_account")
    bank = add_bank_account(req.store, acct, value)
    req.store.emit("account.external_account.created", bank, account=acct["id"], req=req)
    return req.store.render(bank)


def _bank(req, acct, ba_id):
    bank = req.store.coll("bank_accounts").get(ba_id)
    if bank is None or bank["account"] != acct["id"]:
        raise errors.not_found("external account", ba_id)
    return bank


@route("GET", r"/v1/accounts/(?P<acct_id>[^/]+)/external_accounts/(?P<ba_id>[^/]+)")
def retrieve_external_account(req, acct_id, ba_id):
    return req.store.render(_bank(req, _get_connected(req, acct_id), ba_id))


@route("POST", r"/v1/accounts/(?P<acct_id>[^/]+)/external_accounts/(?P<ba_id>[^/]+)")
def update_external_account(req, acct_id, ba_id):
    acct = _get_connected(req, acct_id)
    bank = _bank(req, acct, ba_id)
    previous = {}
    for field in ("account_holder_name", "account_holder_type"):
        if field in req.params:
            previous[field] = bank[field]
            bank[field] = req.str(field)
    if req.bool("default_for_currency") and not bank["default_for_currency"]:
        for other in req.store.coll("bank_accounts").values():
            if other["account"] == acct["id"]:
                other["default_for_currency"] = False
        previous["default_for_currency"] = False
        bank["default_for_currency"] = True
    merge_metadata(bank, req.params.get("metadata"))
    req.store.emit("account.external_account.updated", bank, account=acct["id"], req=req, previous_attributes=previous)
    return req.store.render(bank)


@route("DELETE", r"/v1/accounts/(?P<acct_id>[^/]+)/external_accounts/(?P<ba_id>[^/]+)")
def delete_external_account(req, acct_id, ba_id):
    acct = _get_connected(req, acct_id)
    bank = _bank(req, acct, ba_id)
    if bank["default_for_currency"]:
        raise errors.invalid(
            "You cannot delete the default external account for your default currency. Please make another "
            "external account the default using the `default_for_currency` param, and then delete this one.",
            param="default_for_currency",
        )
    req.store.coll("bank_accounts").pop(ba_id)
    req.store.emit("account.external_account.deleted", bank, account=acct["id"], req=req)
    return {"id": ba_id, "object": "bank_account", "deleted": True}


def _capability(acct, name):
    status = acct["capabilities"][name]
    due = [] if status == "active" else list(acct["requirements"]["currently_due"])
    return {
        "id": name,
        "object": "capability",
        "account": acct["id"],
        "future_requirements": _requirements([]),
        "requested": True,
        "requested_at": acct["created"],
        "requirements": _requirements(due),
        "status": status,
    }


@route("GET", r"/v1/accounts/(?P<acct_id>[^/]+)/capabilities")
def list_capabilities(req, acct_id):
    acct = _get_connected(req, acct_id)
    data = [_capability(acct, name) for name in sorted(acct["capabilities"])]
    return {"object": "list", "data": data, "has_more": False, "url": f"/v1/accounts/{acct_id}/capabilities"}


@route("GET", r"/v1/accounts/(?P<acct_id>[^/]+)/capabilities/(?P<name>[^/]+)")
def retrieve_capability(req, acct_id, name):
    acct = _get_connected(req, acct_id)
    if name not in acct["capabilities"]:
        raise errors.not_found("capability", name)
    return _capability(acct, name)


@route("POST", r"/v1/accounts/(?P<acct_id>[^/]+)/login_links")
def create_login_link(req, acct_id):
    acct = _get_connected(req, acct_id)
    if acct["type"] != "express":
        raise errors.invalid("Login links can only be created for Express accounts.", param="account")
    if not acct["details_submitted"]:
        raise errors.invalid(
            "Cannot create a login link for an account that has not completed onboarding.",
            param="account",
            code="account_invalid",
        )
    token = ids.random_token(24)
    req.store.coll("login_links")[token] = {"account": acct["id"], "created": req.store.now()}
    return {"object": "login_link", "created": req.store.now(), "url": f"{req.base_url}/emulator/express/{token}"}


@route("GET", r"/v1/accounts/(?P<acct_id>[^/]+)/external_accounts")
def list_external_accounts(req, acct_id):
    acct = _get_connected(req, acct_id)
    return req.store.list_response("bank_accounts", acct["id"], f"/v1/accounts/{acct_id}/external_accounts", req.params)


@route("POST", r"/v1/account_links")
def create_account_link(req):
    acct = _get_connected(req, req.str("account", required=True))
    link_type = req.str("type", required=True)
    if link_type not in ("account_onboarding", "account_update"):
        raise errors.invalid("Invalid type: must be one of account_onboarding or account_update", param="type")
    refresh_url = req.str("refresh_url", required=True)
    return_url = req.str("return_url", required=True)
    token = ids.random_token(32)
    now = req.store.now()
    req.store.coll("account_links")[token] = {
        "account": acct["id"],
        "refresh_url": refresh_url,
        "return_url": return_url,
        "type": link_type,
        "created": now,
        "expires_at": now + 300,
    }
    return {
        "object": "account_link",
        "created": now,
        "expires_at": now + 300,
        "url": f"{req.base_url}/emulator/onboarding/{token}",
    }

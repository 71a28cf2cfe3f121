"""Emulator-only endpoints: hosted onboarding and 3-D Secure pages, clock, webhook knobs, reset."""

import html

from .. import errors
from ..router import Response, redirect, route
from . import accounts, payment_intents, setup_intents

# The emulator is its own process and serves its pages without Holdfast's static files, so the
# little styling they need is inline. The first button is the expected action, the last one the
# way out (abandon, fail), styled so the two are not mistaken for each other.
_STYLE = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1rem;
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433;background:#f6f7fb}
main{width:100%;max-width:26rem;background:#fff;border:1px solid #dfe3ea;border-radius:12px;
padding:1.5rem;box-shadow:0 1px 3px rgba(16,24,40,.1)}
.tag{display:inline-block;font-size:.75rem;font-weight:600;letter-spacing:.04em;text-transform:uppercase;
color:#5b6478;background:#eef1f6;border-radius:999px;padding:.1rem .6rem}
h1{font-size:1.25rem;margin:.6rem 0 .4rem}
p{margin:0 0 1.25rem;color:#5b6478;overflow-wrap:anywhere}
form{display:flex;flex-wrap:wrap;gap:.5rem}
button{flex:1 1 10rem;font:inherit;font-weight:600;border-radius:8px;padding:.6rem 1rem;cursor:pointer;
border:1px solid #1f6feb;background:#1f6feb;color:#fff}
button:hover{background:#1558c0}
button.secondary{background:#fff;color:#cf222e;border-color:#cf222e}
button.secondary:hover{background:#fdecec}
"""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{style}</style>
</head><body><main><span class="tag">Stripe emulator</span><h1>{title}</h1><p>{text}</p>
<form method="post" action="{action}">{buttons}</form></main></body></html>"""


def _page(title, text, action, buttons):
    rendered = "".join(
        f'<button type="submit" name="action" value="{html.escape(v)}" id="{html.escape(v)}"'
        f' class="{"secondary" if i else "primary"}">{html.escape(label)}</button>'
        for i, (v, label) in enumerate(buttons)
    )
    return Response(
        200,
        _PAGE.format(title=html.escape(title), style=_STYLE, text=text, action=html.escape(action), buttons=rendered),
    )


def unlocked(fn):
    fn.unlocked = True
    return fn


# ---- hosted Connect onboarding ---------------------------------------------------------
def _link(req, token):
    link = req.store.coll("account_links").get(token)
    if link is None:
        raise errors.not_found("account link", token)
    return link


@route("GET", r"/emulator/onboarding/(?P<token>[^/]+)")
def onboarding_page(req, token):
    link = _link(req, token)
    if link["expires_at"] < req.store.now():
        return redirect(link["refresh_url"])
    return _page(
        "Stripe Connect onboarding (emulated)",
        f"Account <code>{html.escape(link['account'])}</code>",
        f"/emulator/onboarding/{token}",
        [("complete", "Complete onboarding"), ("abandon", "Abandon")],
    )


@route("POST", r"/emulator/onboarding/(?P<token>[^/]+)")
def onboarding_submit(req, token):
    link = _link(req, token)
    if req.str("action") != "complete":
        return redirect(link["refresh_url"])
    acct = req.store.get("accounts", link["account"], None)
    accounts.complete_onboarding(req.store, acct, bank=req.str("external_account", default="btok_us_verified"))
    # Account links are single use.
    req.store.coll("account_links").pop(token, None)
    return redirect(link["return_url"])


@route("POST", r"/emulator/accounts/(?P<acct_id>[^/]+)/complete_onboarding")
def complete_onboarding(req, acct_id):
    acct = req.store.get("accounts", acct_id, None, param="account")
    accounts.complete_onboarding(req.store, acct, bank=req.str("external_account", default="btok_us_verified"))
    return req.store.render(acct)


@route("GET", r"/emulator/express/(?P<token>[^/]+)")
def express_dashboard(req, token):
    link = req.store.coll("login_links").get(token)
    if link is None:
        raise errors.not_found("login link", token)
    acct = req.store.get("accounts", link["account"], None)
    bank = accounts.default_bank(req.store, acct["id"])
    where = f"{html.escape(bank['bank_name'])} ····{html.escape(bank['last4'])}" if bank else "no bank account"
    return _page(
        "Express dashboard (emulated)",
        f"Account <code>{html.escape(acct['id'])}</code>; payouts go to {where}.",
        f"/emulator/express/{token}",
        [],
    )


# ---- 3-D Secure --------------------------------------------------------------------------
def _pi(req, pi_id):
    if pi_id.startswith("seti_"):  # the same page authenticates a card being saved
        return req.store.get("setup_intents", pi_id, None, any_account=True)
    return req.store.get("payment_intents", pi_id, None, any_account=True)


@route("GET", r"/emulator/3ds/(?P<pi_id>[^/]+)")
def three_ds_page(req, pi_id):
    pi = _pi(req, pi_id)
    if pi["object"] == "setup_intent":
        what = "Authenticate saving this card for later payments."
    else:
        amount = f"{pi['amount'] / 100:.2f} {pi['currency'].upper()}"
        what = f"Authenticate a payment of {html.escape(amount)}."
    return _page(
        "3D Secure authentication (emulated)",
        what,
        f"/emulator/3ds/{pi_id}",
        [("complete", "Complete authentication"), ("fail", "Fail authentication")],
    )


@route("POST", r"/emulator/3ds/(?P<pi_id>[^/]+)")
def three_ds_submit(req, pi_id):
    pi = _pi(req, pi_id)
    _authenticate(req, pi, req.str("action") == "complete")
    if pi["_return_url"]:
        sep = "&" if "?" in pi["_return_url"] else "?"
        name = pi["object"]
        return redirect(f"{pi['_return_url']}{sep}{name}={pi['id']}&{name}_client_secret={pi['client_secret']}")
    return Response(200, f"<p>Authentication finished: {html.escape(pi['status'])}</p>")


@route("POST", r"/emulator/payment_intents/(?P<pi_id>[^/]+)/authenticate")
def authenticate(req, pi_id):
    outcome = req.str("outcome", default="complete")
    if outcome not in ("complete", "fail"):
        raise errors.invalid("outcome must be complete or fail", param="outcome")
    pi = _pi(req, pi_id)
    _authenticate(req, pi, outcome == "complete")
    return req.store.render(pi)


@route("POST", r"/emulator/setup_intents/(?P<pi_id>[^/]+)/authenticate")
def authenticate_setup(req, pi_id):
    return authenticate(req, pi_id)


def _authenticate(req, intent, succeed):
    if intent["object"] == "setup_intent":
        setup_intents.complete_authentication(req.store, intent, succeed)
    else:
        payment_intents.complete_authentication(req.store, intent, succeed)


# ---- clock, webhooks, reset --------------------------------------------------------------
@route("GET", r"/emulator/clock")
def get_clock(req):
    return {"now": req.store.now(), "offset": req.store.clock.offset}


@route("POST", r"/emulator/clock/advance")
def advance_clock(req):
    from . import process_due

    seconds = req.int("seconds", required=True, minimum=0)
    req.store.clock.advance(seconds)
    process_due(req.store)
    return {"now": req.store.now(), "offset": req.store.clock.offset}


@route("GET", r"/emulator/config")
@unlocked
def get_config(req):
    return dict(req.dispatcher.config)


@route("POST", r"/emulator/config")
@unlocked
def set_config(req):
    try:
        values = {k: (v == "true" if v in ("true", "false") else v) for k, v in req.params.items()}
        return req.dispatcher.configure(**values)
    except (ValueError, TypeError) as exc:
        raise errors.invalid(str(exc))


@route("GET", r"/emulator/deliveries")
@unlocked
def deliveries(req):
    wait = req.params.get("wait")
    idle = req.dispatcher.wait_idle(float(wait)) if wait else req.dispatcher.pending() == 0
    body = {"pending": req.dispatcher.pending(), "idle": idle}
    if req.params.get("pending") != "1":
        body["data"] = req.dispatcher.snapshot()
    return body


@route("POST", r"/emulator/reset")
@unlocked
def reset(req):
    req.server.reset()
    return {"reset": True}


@route("GET", r"/emulator/health")
@unlocked
def health(req):
    return {"ok": True}


# ---- processor faults (stripe_emulator.faults) ----------------------------------------
@route("GET", r"/emulator/faults")
@unlocked
def get_faults(req):
    return req.server.faults.state()


@route("POST", r"/emulator/faults")
@unlocked
def set_faults(req):
    # A JSON body: {"seed": 0, "rules": [...], "webhooks": {...}}; anything missing is off.
    unknown = set(req.params) - {"seed", "rules", "webhooks"}
    if unknown:
        raise errors.invalid(f"Unknown fault settings: {', '.join(sorted(unknown))}")
    try:
        return req.server.configure_faults(
            seed=int(req.params.get("seed") or 0),
            rules=req.params.get("rules") or [],
            webhooks=req.params.get("webhooks") or None,
        )
    except (ValueError, TypeError) as exc:
        raise errors.invalid(str(exc))

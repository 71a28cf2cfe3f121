"""Webhook endpoints (owned by the platform)."""

from .. import API_VERSION, errors, ids
from ..router import merge_metadata, route


def _events_param(req):
    events = req.params.get("enabled_events")
    if isinstance(events, str):
        events = [events]
    return events


@route("POST", r"/v1/webhook_endpoints")
def create_endpoint(req):
    url = req.str("url", required=True)
    events = _events_param(req)
    if not events:
        raise errors.missing_param("enabled_events")
    endpoint = {
        "id": ids.new_id("webhook_endpoint"),
        "object": "webhook_endpoint",
        "api_version": req.str("api_version") or API_VERSION,
        "application": None,
        "created": req.store.now(),
        "description": req.str("description"),
        "enabled_events": events,
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": url,
        "_secret": ids.webhook_secret(),
        "_connect": req.bool("connect"),
    }
    merge_metadata(endpoint, req.params.get("metadata"))
    req.store.add("webhook_endpoints", endpoint, None)
    out = req.render(endpoint)
    # Like Stripe, the signing secret is only revealed when the endpoint is created.
    out["secret"] = endpoint["_secret"]
    return out


def _get(req, we_id):
    endpoint = req.store.get("webhook_endpoints", we_id, None)
    if endpoint.get("deleted"):
        raise errors.not_found("webhook endpoint", we_id)
    return endpoint


@route("GET", r"/v1/webhook_endpoints/(?P<we_id>[^/]+)")
def retrieve_endpoint(req, we_id):
    return req.render(_get(req, we_id))


@route("POST", r"/v1/webhook_endpoints/(?P<we_id>[^/]+)")
def update_endpoint(req, we_id):
    endpoint = _get(req, we_id)
    if req.str("url"):
        endpoint["url"] = req.str("url")
    if "description" in req.params:
        endpoint["description"] = req.str("description")
    if _events_param(req):
        endpoint["enabled_events"] = _events_param(req)
    if "disabled" in req.params:
        endpoint["status"] = "disabled" if req.bool("disabled") else "enabled"
    merge_metadata(endpoint, req.params.get("metadata"))
    return req.render(endpoint)


@route("DELETE", r"/v1/webhook_endpoints/(?P<we_id>[^/]+)")
def delete_endpoint(req, we_id):
    endpoint = _get(req, we_id)
    endpoint["deleted"] = True
    return {"id": we_id, "object": "webhook_endpoint", "deleted": True}


@route("GET", r"/v1/webhook_endpoints")
def list_endpoints(req):
    return req.store.list_response(
        "webhook_endpoints", None, "/v1/webhook_endpoints", req.params, lambda e: not e.get("deleted")
    )

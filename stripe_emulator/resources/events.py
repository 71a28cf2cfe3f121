"""Events: listing and retrieval (creation happens through Store.emit)."""

from ..router import route


@route("GET", r"/v1/events/(?P<evt_id>[^/]+)")
def retrieve_event(req, evt_id):
    return req.render(req.store.get("events", evt_id, req.account))


@route("GET", r"/v1/events")
def list_events(req):
    etype = req.params.get("type")
    types = req.params.get("types") or []

    def keep(e):
        if etype:
            if etype.endswith("*"):
                if not e["type"].startswith(etype[:-1]):
                    return False
            elif e["type"] != etype:
                return False
        return not types or e["type"] in types

    return req.list("events", "/v1/events", keep)

"""``{% dispute_box escrow user %}``: "Open a dispute" (or the dispute under way) on the task and
escrow pages, for the escrow's parties."""

from django import template

from disputes.models import Dispute

register = template.Library()


@register.inclusion_tag("disputes/_dispute_box.html")
def dispute_box(escrow, user):
    party = user.is_authenticated and user.pk in (escrow.client_id, escrow.tasker_id)
    disputes = list(Dispute.objects.filter(escrow=escrow).order_by("-created_at")[:5]) if party else []
    active = next((d for d in disputes if d.is_active), None)
    return {
        "escrow": escrow,
        "party": party,
        "active": active,
        "past": [d for d in disputes if d is not active],
        "can_open": party and active is None and escrow.status in ("funded", "disputed"),
    }

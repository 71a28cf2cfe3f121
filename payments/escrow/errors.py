from core.errors import Conflict, NotFound


class EscrowError(Conflict):
    default_code = "escrow_conflict"


def escrow_not_found() -> NotFound:
    return NotFound("No such escrow.", code="escrow_not_found")


def require_party(escrow, actor, *, client_only: bool = False) -> None:
    """Only the escrow's parties (or only its client) may act on it; to anyone else it does not exist."""
    parties = {escrow.client_id} if client_only else {escrow.client_id, escrow.tasker_id}
    if actor.pk not in parties:
        raise escrow_not_found()

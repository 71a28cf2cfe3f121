"""Disputes (chargebacks): reading them, submitting evidence and its files, accepting them."""

from __future__ import annotations

from collections.abc import Mapping

import stripe

from processors.stripe.gateway import StripeObject, _call, _opts


def dispute_for_charge(charge_id: str) -> StripeObject | None:
    disputes = _call(stripe.Dispute.list, charge=charge_id, limit=1, **_opts())
    return disputes.data[0] if disputes.data else None


def disputes_opened_since(*, created_since: int) -> list[StripeObject]:
    """Every dispute opened at or after ``created_since`` (a Unix time)."""
    disputes = _call(stripe.Dispute.list, created={"gte": created_since}, limit=100, **_opts())
    return list(disputes.auto_paging_iter())


def dispute_retrieve(dispute_id: str) -> StripeObject:
    return _call(stripe.Dispute.retrieve, dispute_id, **_opts())


def dispute_submit_evidence(*, dispute_id: str, evidence: Mapping[str, str], key: str) -> StripeObject:
    return _call(
        stripe.Dispute.modify,
        dispute_id,
        evidence=dict(evidence),
        submit=True,
        **_opts(idempotency_key=key),
    )


def file_create(*, name: str, content: bytes, content_type: str, key: str) -> StripeObject:
    """Upload a file to Stripe's Files API for a dispute's evidence (``purpose=dispute_evidence``)."""
    import io

    upload = io.BytesIO(content)
    upload.name = name
    return _call(stripe.File.create, purpose="dispute_evidence", file=upload, **_opts(idempotency_key=key))


def dispute_accept(*, dispute_id: str, key: str) -> StripeObject:
    return _call(stripe.Dispute.close, dispute_id, **_opts(idempotency_key=key))

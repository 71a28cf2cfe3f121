"""Files (`POST /v1/files`, multipart): what a dispute's evidence refers to (`purpose=dispute_evidence`).

The emulator keeps each file's name, type, size and digest, not its bytes: nothing reads them back.
"""

import hashlib

from .. import errors, ids
from ..forms import UploadedFile
from ..router import route

PURPOSES = (
    "account_requirement",
    "additional_verification",
    "business_icon",
    "business_logo",
    "customer_signature",
    "dispute_evidence",
    "identity_document",
    "pci_document",
    "tax_document_user_upload",
)
# What Stripe accepts for dispute evidence, and its size limit.
TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}
MAX_BYTES = 5 * 1024 * 1024


@route("POST", r"/v1/files")
def create_file(req):
    purpose = req.str("purpose", required=True)
    if purpose not in PURPOSES:
        raise errors.invalid(f"Invalid purpose: must be one of {', '.join(PURPOSES)}", param="purpose")
    upload = req.params.get("file")
    if not isinstance(upload, UploadedFile):
        raise errors.missing_param("file")
    kind = TYPES.get(upload.content_type) or TYPES.get(_sniff(upload.content))
    if purpose == "dispute_evidence" and kind is None:
        raise errors.invalid(
            "Dispute evidence must be a PDF, JPEG, PNG or GIF file.", param="file", code="file_invalid_type"
        )
    if len(upload.content) > MAX_BYTES:
        raise errors.invalid("The file is larger than the 5 MB allowed.", param="file", code="file_too_large")
    now = req.store.now()
    obj = {
        "id": ids.new_id("file"),
        "object": "file",
        "created": now,
        "expires_at": now + 365 * 86400,
        "filename": upload.filename,
        "links": None,
        "purpose": purpose,
        "size": len(upload.content),
        "title": None,
        "type": kind or upload.content_type.split("/")[-1],
        "url": None,
        "_sha256": hashlib.sha256(upload.content).hexdigest(),
    }
    obj["url"] = f"{req.base_url}/v1/files/{obj['id']}/contents"
    req.store.add("files", obj, req.account)
    return req.render(obj)


@route("GET", r"/v1/files/(?P<file_id>[^/]+)")
def retrieve_file(req, file_id):
    return req.render(req.store.get("files", file_id, req.account))


def _sniff(content):
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None

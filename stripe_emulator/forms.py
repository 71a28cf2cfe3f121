"""Decoding of Stripe's form encoding (`a[b][0]=x`, `expand[]=y`) into nested dicts/lists."""

import re
from urllib.parse import parse_qsl

_KEY_RE = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


def _split_key(key):
    head = key.split("[", 1)[0]
    parts = [head]
    for m in _KEY_RE.finditer(key[len(head) :]):
        parts.append(m.group(2) if m.group(2) is not None else m.group(1))
    return parts


def _listify(node):
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
        return node
    return node


def decode(qs):
    root = {}
    for key, value in parse_qsl(qs, keep_blank_values=True):
        parts = _split_key(key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                # `a[]=x` appends; model it as the next numeric index.
                part = str(len(node))
            if last:
                node[part] = value
            else:
                nxt = node.get(part)
                if not isinstance(nxt, dict):
                    nxt = node[part] = {}
                node = nxt
    return _listify(root)


class UploadedFile:
    """A file part of a multipart body: its name, content type and bytes."""

    def __init__(self, filename, content_type, content):
        self.filename = filename
        self.content_type = content_type
        self.content = content


def decode_multipart(body, content_type):
    """Decode a ``multipart/form-data`` body (what the SDK sends to ``POST /v1/files``): text
    fields become strings (nested names as in the form encoding), file parts ``UploadedFile``s."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields, files = [], {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = UploadedFile(filename, part.get_content_type(), payload)
        else:
            fields.append((name, payload.decode("utf-8")))
    from urllib.parse import urlencode

    decoded = decode(urlencode(fields))
    decoded.update(files)
    return decoded

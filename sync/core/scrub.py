"""Secret scrubbing, in one place: the client, the adapters, the CLI and the Space all use it.

Tokens only come from the environment, but error texts from servers and libraries may echo a
request (a URL with a token in its query, an Authorization header), so every text that leaves the
process goes through `scrub`, and every URL that is logged or shown through `display_url`.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterable

SECRET_VARIABLES = ("TUSHARE_TOKEN", "HF_TOKEN", "SYNC_ADMIN_TOKEN")
MIN_SECRET_LENGTH = 4  # shorter values would blank out ordinary words


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every given secret, and every secret variable of the environment, replaced by `***`.

    >>> scrub("token abcd1234 refused", ["abcd1234"])
    'token *** refused'
    """
    known = {
        s for s in (*secrets, *(os.environ.get(n, "") for n in SECRET_VARIABLES)) if s and len(s) >= MIN_SECRET_LENGTH
    }
    for secret in sorted(known, key=len, reverse=True):  # longest first: one secret may contain another
        text = text.replace(secret, "***")
    return text


def display_url(url: str) -> str:
    """`url` without userinfo, query or fragment: what may be logged or shown.

    >>> display_url("http://user:pw@host:8000/dataapi?token=abc")
    'http://host:8000/dataapi'
    """
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))

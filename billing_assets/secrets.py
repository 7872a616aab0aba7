"""Secrets never reach a message: one validation at resource set-up, one redaction for every error.

Why both: a key pasted with a newline makes `requests` raise InvalidHeader *quoting the header*,
and an API that echoes the Authorization header in an error body would have it copied into our
exception. So keys are checked before any request is built (outer whitespace stripped, anything
else that could not be an API key refused by name, never by value), and every message an HTTP
client raises passes through `redact` first.
"""

from __future__ import annotations

import re

_TOKEN_CHARS = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII without spaces
_REPLACEMENTS = (  # (pattern, replacement), applied in order
    (re.compile(r"(?i)(authorization\s*[:=]\s*)[^\r\n\"',;|]+"), r"\1***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"), r"\1 ***"),
    (re.compile(r"\b(?:(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]+|dop_v1_[0-9a-f]+)"), "***"),
)


class SecretError(ValueError):
    """A secret that cannot be used; the message names the variable, never the value."""


def checked_secret(name: str, value: str | None) -> str | None:
    """The secret with surrounding whitespace (a stray trailing newline) removed; refused, by name
    and position only, when what is left is empty or holds whitespace or control characters."""
    if value is None:
        return None
    stripped = value.strip()
    if not stripped:
        raise SecretError(f"{name} is set but empty")
    if not _TOKEN_CHARS.match(stripped):
        bad = next(i for i, ch in enumerate(stripped) if not _TOKEN_CHARS.match(ch))
        raise SecretError(f"{name} contains whitespace or a control character (at position {bad} of "
                          f"{len(stripped)}): fix the value where the secret is stored")
    return stripped


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every given secret and anything shaped like a credential replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for pattern, replacement in _REPLACEMENTS:
        text = pattern.sub(replacement, text)
    return text

"""Checks of the values Meta's dashboard shows (an access token, numeric ids)."""

from __future__ import annotations

import re

from botcraft.i18n import N_

_TOKEN_RE = re.compile(r"[A-Za-z0-9_.|-]{20,1024}")
_DIGITS_RE = re.compile(r"\d{5,32}")


def meta_token(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not _TOKEN_RE.fullmatch(value):
        raise ValueError(N_("does not look like a Meta access token"))
    return value


def numeric_id(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    if not _DIGITS_RE.fullmatch(value):
        raise ValueError(N_("must be the numeric id shown in Meta's dashboard"))
    return value

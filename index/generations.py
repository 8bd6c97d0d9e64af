"""Names of index generations (FAISS folders `gen-<id>`, Qdrant collections `<alias>_<id>`).

An id is `<sequence>-<UTC time>-<random>`: generations are ordered by their sequence number,
one more than the highest before them, so a clock set back (a daylight-saving fall-back, a
corrected clock) cannot put a new generation before the previous one. The time, in UTC, is
only for people reading the names. Names made before sequence numbers (`20261206T101010…`)
order before every numbered one, among themselves by their time.

"One more than the highest" holds for builds that take turns: the build lock of an index
folder, or one process at a time building into a Qdrant alias. Two machines building into
one Qdrant alias at once could take the same number; that is not supported.
"""
from __future__ import annotations

import re
import time
import uuid
from typing import Iterable

ID = r"(?:(\d{8,})-\d{8}T\d{6}Z-[0-9a-f]{8}|\d{8}T\d{6}\d{9}[-_][0-9a-f]{8})"  # now | before sequence numbers
_ID = re.compile(ID + r"$")


def new_id(existing: Iterable[str], now: float | None = None) -> str:
    """An id that orders after every one of `existing` (names or ids), whatever the clock says."""
    seq = 1 + max((order(name)[0] for name in existing), default=0)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return f"{seq:08d}-{stamp}-{uuid.uuid4().hex[:8]}"


def order(name: str) -> tuple[int, str]:
    """Sort key of a generation's name (or id): its sequence number, then the name."""
    m = _ID.search(name)
    return (int(m.group(1)) if m and m.group(1) else 0, name)


def is_named(name: str, prefix: str) -> bool:
    """Is `name` exactly `prefix` followed by an id (so "hpsr_" never claims "hpsr_dev_…")?"""
    return name.startswith(prefix) and re.fullmatch(ID, name[len(prefix):]) is not None

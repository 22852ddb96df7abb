"""Limits on failed sign-ins, kept in the database so every worker process agrees.

Past `MAX_PER_USER` failures for a username, or `MAX_PER_ADDRESS` from a client
address, within `WINDOW`, sign-in answers 429 without checking the password: a
guesser learns nothing more, not even when they guess right. The address is
the connecting one (behind a proxy, the proxy's: its limit then covers all).
Concurrent attempts may each pass the check before any records its failure,
so a burst can overshoot a limit by the number of attempts in flight.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import Connection

from runfolio.errors import TooManyAttempts
from runfolio.schemas.common import utcnow
from runfolio.store import accounts

WINDOW = dt.timedelta(minutes=15)
MAX_PER_USER = 5
MAX_PER_ADDRESS = 20
# The subjects column's size, with room for the prefix.
_MAX_SUBJECT = 300


@dataclass(frozen=True, slots=True)
class Subjects:
    """What failures are counted against: the username tried and the client address."""

    user: str
    address: str

    @classmethod
    def of(cls, username: str, address: str) -> Subjects:
        return cls(f"user:{username}"[:_MAX_SUBJECT], f"addr:{address}"[:_MAX_SUBJECT])


def check(conn: Connection, subjects: Subjects) -> None:
    """TooManyAttempts when either subject has used up its failures in the window."""
    since = utcnow() - WINDOW
    # The oldest failure may leave the window sooner; waiting the whole window is sure.
    retry_after = math.ceil(WINDOW.total_seconds())
    later = f"Try again in {retry_after // 60} minutes."
    if accounts.count_failures(conn, subjects.user, since) >= MAX_PER_USER:
        raise TooManyAttempts(f"Too many failed sign-ins for this username. {later}", retry_after)
    if accounts.count_failures(conn, subjects.address, since) >= MAX_PER_ADDRESS:
        raise TooManyAttempts(f"Too many failed sign-ins from your address. {later}", retry_after)


def failed(conn: Connection, subjects: Subjects) -> None:
    accounts.record_failure(conn, [subjects.user, subjects.address], keep=WINDOW)


def succeeded(conn: Connection, subjects: Subjects) -> None:
    # The username's count starts again; the address's stays (others may share it).
    accounts.clear_failures(conn, subjects.user)

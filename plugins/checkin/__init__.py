"""``checkin``: (being written)."""

from __future__ import annotations


class CheckinPlugin:
    opt_in = True

"""Knowing when the person is at the screen, and what is in front of them.

``base`` defines the source interface; one module per source (``x11``, ``logind``,
``mutter``, ``wayland``, ``sway``, ``activitywatch``, ...); ``manager`` probes and
picks sources per capability; ``presence`` turns their reports into presence and
attributed time, which the ledger (in :mod:`nudged.store`) keeps.
"""

"""Errors the use cases raise themselves (the others come from the parts they wire).

    BatonError (tools.errors)
    └── UsageError      the request is unusable as given: an empty goal or feedback
"""

from __future__ import annotations

from tools import BatonError


class UsageError(BatonError):
    """What was asked is unusable as given; nothing was tried, the caller must change it.

    The CLI exits 2 for it, as for any usage error; the API answers by its ``code`` (a 4xx).
    """

    code = "invalid_request"

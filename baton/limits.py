"""The lengths of text a person writes, the same wherever it is taken: the API's request
models, the web forms and the CLI's arguments; and the size of what is sent whole.

Here, importing nothing, so that the CLI can check them without loading the web framework.
"""

from __future__ import annotations

GOAL_MAX_CHARS = 4000
FEEDBACK_MAX_CHARS = 4000
COMMENT_MAX_CHARS = 2000
REASON_MAX_CHARS = 2000

#: The largest request body the API takes (``baton serve --max-body-bytes`` changes it), and
#: so the largest plan file the CLI reads: a plan document the API would refuse is refused
#: from a file too, before it is read (a 60 MB one took 30 s and 1.4 GB to validate).
BODY_MAX_BYTES = 1024 * 1024

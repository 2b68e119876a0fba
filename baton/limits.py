"""The lengths of text a person writes, the same wherever it is taken: the API's request
models, the web forms and the CLI's arguments.

Here, importing nothing, so that the CLI can check them without loading the web framework.
"""

from __future__ import annotations

GOAL_MAX_CHARS = 4000
FEEDBACK_MAX_CHARS = 4000
COMMENT_MAX_CHARS = 2000
REASON_MAX_CHARS = 2000

"""Who may do what through the HTTP API and the web page.

The role → action table and the check live in :mod:`baton.usecases.permissions`,
where the CLI reads them too, so the API, the web page and the CLI refuse
exactly the same things. This module keeps the names the API and the web page
import; the table in force, with the roles the policy data adds, is
:func:`baton.api.auth.role_table_of` the request.
"""

from __future__ import annotations

from baton.usecases.permissions import (
    ROLE_ACTIONS,
    Action,
    ActionNotAllowedError,
    RoleTable,
    role_table,
)

__all__ = ["ROLE_ACTIONS", "Action", "ActionNotAllowedError", "RoleTable", "role_table"]

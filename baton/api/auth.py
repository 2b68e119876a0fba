"""Bearer-token authentication: tokens (stored hashed in settings) map to users.

The web page uses the same tokens, kept in an HttpOnly cookie after sign-in.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from baton.services import Services
from baton.settings import User

from .errors import ApiError
from .permissions import Action, RoleTable

bearer_scheme = HTTPBearer(auto_error=False, description="An API token declared (hashed) in "
                           "the settings under [users.ID] token_sha256.")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def services_of(request: Request) -> Services:
    """The composition root the app was built with."""
    return request.app.state.services


def user_for_token(services: Services, token: str | None) -> User | None:
    """The user a token acts as, or None for a missing or unknown token."""
    if not token:
        return None
    return services.settings.user_for_token(token)


def current_user(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
) -> User:
    """The authenticated caller; 401 without a valid bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "missing bearer token (Authorization: Bearer TOKEN)",
                       headers=_CHALLENGE)
    user = user_for_token(services_of(request), credentials.credentials)
    if user is None:
        raise ApiError(401, "unauthorized", "unknown or revoked token", headers=_CHALLENGE)
    return user


def role_table_of(request: Request) -> RoleTable:
    """The role → action table in force: the built-in roles and those the policy data adds.

    Worked out once per app, since it may read a ``policies_dir``'s data file: the policy
    data changes on a restart only, as the policy engine does.
    """
    from baton.settings_users import role_table_in_force

    state = request.app.state
    table = getattr(state, "role_table", None)
    if table is None:  # two first requests may both work it out: the same table
        table = state.role_table = role_table_in_force(services_of(request).settings)
    return table


def check(table: RoleTable, user: User, action: Action) -> None:
    """403 unless one of ``user``'s roles grants ``action`` in ``table``."""
    if not table.may(user, action):
        raise ApiError(403, "forbidden", table.refusal(user, action))


def require(action: Action) -> Callable[..., User]:
    """A dependency yielding the caller when their role grants ``action``."""

    def dependency(request: Request, user: User = Depends(current_user)) -> User:
        check(role_table_of(request), user, action)
        return user

    dependency.__name__ = f"require_{action.name.lower()}"
    return dependency

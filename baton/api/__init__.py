"""Baton's HTTP API (FastAPI): ``create_app(services)``; run it with ``baton serve``."""

from .app import API_PREFIX, create_app
from .permissions import ROLE_ACTIONS, Action, RoleTable, role_table
from .verify_guard import VerifyGuard, VerifyRefused

__all__ = ["API_PREFIX", "ROLE_ACTIONS", "Action", "RoleTable", "VerifyGuard", "VerifyRefused",
           "create_app", "role_table"]

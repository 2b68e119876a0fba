"""Tool routes: what plans may call."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from baton.settings import User
from tools import Effect, ToolInfo

from .auth import require, services_of
from .errors import error_responses, token_route_errors
from .permissions import Action

router = APIRouter(tags=["tools"], responses=token_route_errors())


class ToolSummary(BaseModel):
    """One line of the tool list."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Registered name, e.g. 'files.read'.")
    description: str = Field(description="What the tool does.")
    effect: Effect = Field(description="Default effect (read or write).")
    idempotent: bool = Field(description="Calling twice with the same key is safe.")
    sends_idempotency_key: bool = Field(
        default=False, description="Sends the step's key with every call (Idempotency-Key).")
    tags: tuple[str, ...] = Field(default=(), description="Labels policies can match.")


@router.get("/tools", response_model=list[ToolSummary], summary="List the registered tools")
def list_tools(request: Request,
               user: User = Depends(require(Action.TOOLS_READ))) -> list[ToolSummary]:
    """Every tool plans may call, sorted by name."""
    services = services_of(request)
    infos = (spec.info(secret_values=services.secret_values) for spec in services.registry)
    return [ToolSummary(name=info.name, description=info.description, effect=info.effect,
                        idempotent=info.idempotent,
                        sends_idempotency_key=info.sends_idempotency_key, tags=info.tags)
            for info in sorted(infos, key=lambda i: i.name)]


@router.get("/tools/{name}", response_model=ToolInfo, summary="Describe one tool",
            responses=error_responses(404))
def get_tool(name: str, request: Request,
             user: User = Depends(require(Action.TOOLS_READ))) -> ToolInfo:
    """A tool's metadata and its input and output JSON Schemas."""
    services = services_of(request)
    # A configured secret may sit where no credential name marks it (a webhook's URL path).
    return services.registry.get(name).info(secret_values=services.secret_values)

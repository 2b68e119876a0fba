"""The composition root: builds Baton's parts from settings, once, on first use.

It wires; it does not plan, vet or run. Use cases in ``baton.usecases`` take
what they need from it.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.engine import Engine

from executor.ledger import Ledger
from tools import ToolRegistry

from .settings import Settings


class Services:
    """Lazily built parts, all configured from one ``Settings``."""

    def __init__(self, settings: Settings, *, registry: ToolRegistry | None = None) -> None:
        self.settings = settings
        if registry is not None:
            self.__dict__["registry"] = registry

    @cached_property
    def engine(self) -> Engine:
        """The database engine, schema brought up to date."""
        from executor.store import make_engine
        from executor.store.migrate import upgrade

        engine = make_engine(self.settings.resolved_database_url)
        upgrade(engine)
        return engine

    @cached_property
    def secret_values(self) -> list[str]:
        """Every configured secret value, so that logs and the ledger can mask them."""
        values = [s.get_secret_value() for s in self.settings.secrets.values()]
        if self.settings.llm.api_key is not None:
            values.append(self.settings.llm.api_key.get_secret_value())
        return [v for v in values if v]

    @cached_property
    def ledger(self) -> Ledger:
        """The audit log."""
        return Ledger(self.engine, secret_values=self.secret_values)

    @cached_property
    def registry(self) -> ToolRegistry:
        """Built-in tools plus those installed packages ship (entry point group ``baton.tools``)."""
        from tools.builtin import register_builtin_tools

        registry = ToolRegistry()
        register_builtin_tools(
            registry,
            workspace=self.settings.resolved_workspace,
            http_max_response_bytes=self.settings.http_max_response_bytes,
        )
        registry.load_entry_points()
        return registry

"""The composition root: builds Baton's parts from settings, once, on first use (the template
library again whenever its files change, the users whenever the settings file changes).

It wires; it does not plan, vet or run. Use cases in ``baton.usecases`` take
what they need from it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any
from typing import TYPE_CHECKING

from tools import ToolRegistry

from .settings import ConfigError, Settings
from .settings_reload import LiveSettings

if TYPE_CHECKING:
    from pathlib import Path

    # SQLAlchemy alone costs most of `baton --help`'s start-up: import it when first used.
    from sqlalchemy.engine import Engine

    from executor.artifacts import ArtifactStore
    from executor.ledger import Ledger
    from executor.runner import Runner
    from executor.store.approvals import ApprovalStore
    from policies.engine import PolicyEngine
    from executor.store.plans import PlanStore
    from planner.llm import LLMPlanner
    from planner.templates import TemplateLibrary
    from tools.builtin import Protected

# Files of <data_dir> named here and where they are made (web_secret.key by baton.web.session,
# which is not imported for this: it brings the web framework).
ARTIFACTS_DIR = "artifacts"
LLM_CAPABILITIES_FILE = "llm_capabilities.json"
WEB_KEY_FILE = "web_secret.key"


class Services:
    """Lazily built parts, all configured from one ``Settings``."""

    def __init__(self, settings: Settings, *, registry: ToolRegistry | None = None,
                 database_from: str | None = None, existing_database_only: bool = False) -> None:
        """``database_from`` says which setting gave the database's location ("data_dir in
        /srv/baton.toml"): an error opening or upgrading it names the database and that
        setting. ``existing_database_only`` is for commands that only read (it needs
        ``database_from``): a SQLite database file that does not exist is then an error naming
        the file and the setting, and nothing is created."""
        if existing_database_only and database_from is None:
            raise ValueError("existing_database_only needs database_from, for its errors")
        self._settings = LiveSettings(settings)
        self.database_from = database_from
        self.existing_database_only = existing_database_only
        self._templates: tuple[Any, TemplateLibrary] | None = None  # (directory marks, library)
        if registry is not None:
            self.__dict__["registry"] = registry

    @property
    def settings(self) -> Settings:
        """The settings this process started with, users and roles as the settings file
        declares them now (a stat per use; read again when it changed). ``SettingsFileError``
        while the file no longer loads: no token, role or approval is judged on stale users.
        """
        return self._settings.now()

    @cached_property
    def engine(self) -> Engine:
        """The database engine, schema brought up to date (an existing one only, for readers)."""
        from executor.store import make_engine
        from executor.store.migrate import upgrade

        if self.existing_database_only:
            from executor.store.reading import open_for_reading

            assert self.database_from is not None  # checked in __init__
            return open_for_reading(self.settings.resolved_database_url, self.database_from)
        engine = make_engine(self.settings.resolved_database_url)
        upgrade(engine, origin=self.database_from)
        return engine

    @cached_property
    def secret_values(self) -> list[str]:
        """Every configured secret value, so that logs and the ledger can mask them."""
        from tools.url_credentials import MIN_GLOBAL_SECRET_LEN

        from .settings_checks import configured_url_secrets

        values = [s.get_secret_value() for s in self.settings.secrets.values()]
        api_key = self.settings.llm.api_key
        # A placeholder key ("ollama", "EMPTY") masked everywhere would rewrite goals and
        # plans; the LLM client still masks it, however short, in its own errors and records.
        if api_key is not None and len(api_key.get_secret_value()) >= MIN_GLOBAL_SECRET_LEN:
            values.append(api_key.get_secret_value())

        if self.settings.web_secret is not None:  # at least 16 characters: a key, not a word
            values.append(self.settings.web_secret.get_secret_value())
        values.extend(configured_url_secrets(self.settings))
        return list(dict.fromkeys(v for v in values if v))

    @cached_property
    def recognisable_secrets(self) -> dict[str, str | None]:
        """Secret values long enough to tell from ordinary words in a plan, each with its
        ``[secrets]`` name (None for a credential without one: the API key, a URL password)."""
        from tools.url_credentials import MIN_GLOBAL_SECRET_LEN

        named = {s.get_secret_value(): name for name, s in self.settings.secrets.items()}
        return {value: named.get(value) for value in self.secret_values
                if len(value) >= MIN_GLOBAL_SECRET_LEN}

    @cached_property
    def ledger(self) -> Ledger:
        """The audit log."""
        from executor.ledger import Ledger

        return Ledger(self.engine, secret_values=self.secret_values)

    @cached_property
    def registry(self) -> ToolRegistry:
        """Built-in tools, those installed packages ship (entry point group ``baton.tools``)
        and the ``[[tools.http]]`` tables; ``ConfigError`` when a table is named like a tool
        a package registered, a tool declares a secret ``[secrets]`` lacks, or a
        ``per_tool_concurrency`` limit names no tool (only loading the packages tells their
        tools' names and secrets)."""
        from tools.builtin import register_builtin_tools

        registry = ToolRegistry()
        register_builtin_tools(
            registry,
            workspace=self.settings.resolved_workspace,
            http_max_response_bytes=self.settings.http_max_response_bytes,
            protected=baton_state(self.settings),
        )
        registry.load_entry_points()
        from tools.http_endpoint import load_http_tools

        from .settings_checks import table_clashes, unconfigured_secrets
        from .settings_tool_limits import unknown_limited_tools

        # The settings check knew the built-in tools only (it runs no package's code): a
        # table named like a packaged tool, or a packaged tool declaring a secret that is not
        # configured, is the same configuration problem (exit 2) as for a table.
        _refuse(table_clashes(registry, self.settings.http_tools))
        load_http_tools(registry, self.settings.http_tools)
        _refuse([*unconfigured_secrets(registry, self.settings),
                 *unknown_limited_tools(registry, self.settings.executor.per_tool_concurrency)])
        return registry

    @cached_property
    def llm_planner(self) -> LLMPlanner:
        """The LLM planner for the configured endpoint; ``ConfigError`` when none is configured."""
        from planner.llm import LLMConfig, LLMPlanner

        llm = self.settings.llm
        if not llm.base_url:
            raise ConfigError(
                "no LLM endpoint is configured: set BATON_LLM_BASE_URL (and BATON_LLM_MODEL, "
                "BATON_LLM_API_KEY if the endpoint needs one) or [llm] base_url in baton.toml"
            )
        from pydantic import ValidationError

        try:
            config = LLMConfig(
                base_url=llm.base_url, model=llm.model, api_key=llm.api_key,
                timeout_s=llm.timeout_s, temperature=llm.temperature,
                max_attempts=llm.max_repairs, max_tools_offered=llm.max_tools_offered,
                max_steps=self.settings.max_steps, max_transport_retries=llm.retries,
                max_backoff_s=llm.max_backoff_s, max_echoed_reply_chars=llm.max_echoed_reply_chars,
                capability_cache=self.settings.data_dir / LLM_CAPABILITIES_FILE,
                # Never a secret in a prompt: a stored plan, a goal or feedback may hold one.
                prompt_secrets=tuple(self.secret_values),
            )
        except ValidationError as exc:
            # The settings refuse what the planner does; settings built in code skip that, and
            # a ValidationError escaping here was a traceback (exit 1) or an API 500.
            _refuse(_llm_config_problems(exc))
            raise  # no problem named: not reached, as a ValidationError names at least one
        return LLMPlanner(config)

    @cached_property
    def plan_store(self) -> PlanStore:
        """Plans and their versions."""
        from executor.store.plans import PlanStore

        return PlanStore(self.engine)

    @property
    def template_library(self) -> TemplateLibrary:
        """Shipped templates plus ``templates_dir`` (default ``<data_dir>/templates``), writable.

        Read again whenever a template file was added, removed or changed since it was last
        read (a stat of each file per use, not a read): a server or worker plans from, and
        judges standard changes by, the templates as they are now.
        """
        from planner.templates import SHIPPED_DIR, TemplateLibrary
        from planner.templates.freshness import directory_marks

        user_dir = (self.settings.templates_dir or self.settings.data_dir / "templates").resolve()
        directories = [SHIPPED_DIR, user_dir]
        marks = directory_marks(directories)
        loaded = self._templates
        if loaded is None or loaded[0] != marks:
            # Marked before reading: a file changed while it is read is read again next time.
            loaded = self._templates = (marks, TemplateLibrary.load(directories,
                                                                    writable_dir=user_dir))
        return loaded[1]

    # Where the embedded engine judges. By default in evaluator processes that are replaced
    # before they grow (rego-cpp keeps memory after every evaluation: policies.isolated_rego),
    # as the server, workers and runs must. A command that judges a plan or two and exits may
    # set this before first use, to judge in its own process and spare the start of an
    # evaluator (about 0.7 s).
    policy_in_process: bool = False

    @cached_property
    def policy_engine(self) -> PolicyEngine:
        """The policy engine: embedded Rego, or the OPA server at ``opa_url``."""
        from policies.factory import make_policy_engine

        return make_policy_engine(policies_dir=self.settings.policies_dir,
                                  policy_data=self.settings.policy_data,
                                  opa_url=self.settings.opa_url,
                                  isolated=not self.policy_in_process)

    @cached_property
    def approval_store(self) -> ApprovalStore:
        """Policy decisions and approvals."""
        from executor.store.approvals import ApprovalStore

        return ApprovalStore(self.engine)

    @cached_property
    def artifact_store(self) -> ArtifactStore:
        """Content-addressed store of large step outputs. ``[executor] artifact_store`` says
        where new ones go (rows of the database, or files under ``<data_dir>/artifacts``);
        either store reads both, so outputs stored before the setting changed stay readable."""
        from executor.artifacts import ArtifactStore

        executor = self.settings.executor
        root = (self.settings.data_dir / ARTIFACTS_DIR).resolve()
        if not executor.artifacts_in_database(self.engine.dialect.name):
            return ArtifactStore(root, threshold_bytes=executor.artifact_threshold_bytes,
                                 engine=self.engine)
        from executor.artifact_rows import DatabaseArtifactStore

        return DatabaseArtifactStore(self.engine, root,
                                     threshold_bytes=executor.artifact_threshold_bytes)

    @cached_property
    def runtime_check(self) -> Any:
        """What the runner asks before a write or egress call: the policy engine."""
        from .usecases.runs import PolicyRuntimeCheck

        return PolicyRuntimeCheck(self)

    def _admit(self, plan_id: str, version: int) -> None:
        """The runner's admission check: the version must still pass the approval gate now."""
        from .usecases.gates import require_approved

        require_approved(self, plan_id, version)

    @cached_property
    def runner_factory(self) -> Callable[..., Runner]:
        """Builds a runner (a new owner) from settings; keyword options override them."""
        from executor.runner import Runner

        def build(**options: Any) -> Runner:
            executor = self.settings.executor
            options = {k: v for k, v in options.items() if v is not None}
            # The tools first: a configuration problem they reveal (exit 2) must be found
            # before the database is opened, which creates or upgrades it.
            registry = self.registry
            return Runner(
                self.engine, self.ledger, registry, options.pop("runtime_check", self.runtime_check),
                artifacts=self.artifact_store, concurrency=options.pop("concurrency", None),
                per_tool_concurrency=executor.per_tool_concurrency, lease_s=executor.lease_s,
                secrets={k: v.get_secret_value() for k, v in self.settings.secrets.items()},
                workspace=self.settings.resolved_workspace, admission=self._admit, **options)

        return build


def baton_state(settings: Settings) -> list[Protected]:
    """Baton's own state, which ``files.*`` never read or write even where the workspace holds
    it (``workspace = "."`` beside ``data_dir = ".baton"``): a plan could otherwise read the web
    key or overwrite the database, approved as a mere file read or write. Outermost first, so
    a refusal names the data directory rather than a file in it."""
    from tools.builtin import Protected

    data_dir = settings.data_dir
    templates = settings.templates_dir or data_dir / "templates"
    state = [Protected(path=data_dir, what="Baton's data directory (data_dir)"),
             *(Protected(path=path, what="Baton's database")
               for path in _sqlite_files(settings.resolved_database_url)),
             Protected(path=data_dir / ARTIFACTS_DIR, what="Baton's artifact store"),
             Protected(path=data_dir / WEB_KEY_FILE, what="Baton's web key"),
             Protected(path=data_dir / LLM_CAPABILITIES_FILE, what="Baton's LLM capability cache"),
             Protected(path=templates, what="Baton's templates directory (templates_dir)")]
    if settings.policies_dir is not None:  # policies replacing the shipped ones
        state.append(Protected(path=settings.policies_dir,
                               what="Baton's policies directory (policies_dir)"))
    if settings.source is not None:  # made by a plan, it would be read as the settings
        state.append(Protected(path=settings.source.path, what="Baton's settings file"))
    return state


def _sqlite_files(url: str) -> list[Path]:
    """The SQLite database file of ``url`` and those SQLite keeps beside it; none for another
    database (or one in memory, which the settings refused)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return []
    if database.startswith("file:"):  # a URI: its path, without its query
        database = database[len("file:"):].partition("?")[0]
    path = Path(database)
    return [path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))]


# Each LLMConfig field the planner refuses, and the setting it came from.
_LLM_CONFIG_SETTINGS = {"base_url": "llm.base_url", "model": "llm.model",
                        "api_key": "llm.api_key", "timeout_s": "llm.timeout_s",
                        "temperature": "llm.temperature", "max_attempts": "llm.max_repairs",
                        "max_tools_offered": "llm.max_tools_offered", "max_steps": "max_steps",
                        "max_transport_retries": "llm.retries",
                        "max_backoff_s": "llm.max_backoff_s",
                        "max_echoed_reply_chars": "llm.max_echoed_reply_chars",
                        "capability_cache": "data_dir", "prompt_secrets": "secrets"}


def _llm_config_problems(exc: Any) -> list[tuple[str, str]]:
    """(setting, problem) for each error of ``exc``, a ValidationError of LLMConfig: the
    message only, never the input (it may be the key or a secret)."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        field = str(err["loc"][0]) if err["loc"] else ""
        problems.append((_LLM_CONFIG_SETTINGS.get(field, f"llm ({field or 'settings'})"),
                         err["msg"]))
    return problems


def _refuse(problems: list[tuple[str, str]]) -> None:
    """A ConfigError (exit 2) listing ``problems``, (setting, problem) pairs, if there are any."""
    if problems:
        raise ConfigError("invalid settings: " + "; ".join(
            f"{key}: {problem}" for key, problem in problems))

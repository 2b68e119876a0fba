"""Baton's error hierarchy.

The root lives in the lowest layer so that every layer above can subclass it
without importing upwards.

    BatonError                      every error Baton raises on purpose
    ├── ToolDefinitionError         a function cannot become a tool (all problems listed)
    ├── UnknownToolError            a name that no registry entry answers to
    └── ToolError                   a tool call failed
        ├── RetryableToolError      transient: the executor may try again
        └── ToolInputError          the arguments were rejected (never retried)

Control-flow signals (approval needed, cancelled) are not errors and do not
derive from ``BatonError``.
"""

from __future__ import annotations


class BatonError(Exception):
    """Base class of every error Baton raises on purpose."""

    code: str = "baton_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ToolDefinitionError(BatonError):
    """A function could not be registered as a tool; lists every problem."""

    code = "tool_definition"

    def __init__(self, function_name: str, problems: list[str]) -> None:
        self.function_name = function_name
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"cannot register {function_name} as a tool:\n{lines}")


class UnknownToolError(BatonError):
    """No tool is registered under the requested name."""

    code = "unknown_tool"

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = list(suggestions or [])
        hint = f" (did you mean: {', '.join(self.suggestions)}?)" if self.suggestions else ""
        super().__init__(f"unknown tool {name!r}{hint}")


class ToolError(BatonError):
    """A tool call failed; ``retryable`` tells the executor whether to try again."""

    code = "tool_error"
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        retry_after_s: float | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        if retryable is not None:
            self.retryable = retryable
        self.retry_after_s = retry_after_s


class RetryableToolError(ToolError):
    """A transient failure a tool reports on purpose: the call may succeed later."""

    code = "tool_retryable"
    retryable = True


class ToolInputError(ToolError):
    """The call's arguments were refused (bad path, bad expression...): never retried."""

    code = "tool_input"
    retryable = False

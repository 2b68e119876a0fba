"""A tool registry for policy tests and fixtures (shared with the policy evals)."""

from evals.policies.registry import policy_registry

__all__ = ["policy_registry"]

"""Use cases: the operations people perform, wiring planner, policies and executor."""

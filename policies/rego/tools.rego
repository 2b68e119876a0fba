# Rules about which tools a plan may call.
package baton

import rego.v1

# Rule: every step must call a tool that is registered.
deny contains msg if {
	some s in input.steps
	not s.known
	msg := sprintf("step %s: tool %s is not registered", [s.id, s.tool])
}

# Rule: the person asking must have a role that allows each tool
# (role_tools in the data).
deny contains msg if {
	some s in input.steps
	s.known
	not s.tool in allowed_tools
	roles := concat(", ", input.requester.roles)
	msg := concat("", ["step ", s.id, ": ", input.requester.id, " (roles: ", roles, ") may not use tool ", s.tool])
}

# The plan's tools that the requester may use (each distinct tool checked once).
plan_tools := {s.tool | some s in input.steps}

allowed_tools contains tool if {
	some tool in plan_tools
	tool_allowed(tool)
}

tool_allowed(tool) if {
	some role in input.requester.roles
	some pattern in object.get(cfg.role_tools, role, [])
	pattern_matches(pattern, tool)
}

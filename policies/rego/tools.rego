# Rules about which tools a plan may call.
package baton

import rego.v1

# Rule: every step must call a tool that is registered.
deny contains msg if {
	some s in input.steps
	not s.known
	msg := sprintf("step %s: tool %s is not registered", [s.id, s.tool])
}

# Rule: the person asking must have a role that allows each tool (role_tools in
# the data), and so must the version's author for each tool the version adds. The
# run acts for the requester; an author who is someone else chose only the tools
# they added, so a reviser cannot borrow the requester's roles to add one, yet may
# revise a plan whose tools they lack (an approver asked for a change).
deny contains msg if {
	some s in input.steps
	s.known
	some person in role_holders
	judged_for(person, s.tool)
	not [person.id, s.tool] in allowed_uses
	msg := concat("", ["step ", s.id, ": ", person_label(person), " may not use tool ", s.tool])
}

# The requester, and the version's author when another person (inputs made
# before authors were recorded have none: the requester alone is judged).
role_holders contains input.requester

role_holders contains author if {
	author := input.author
	is_object(author)
	author.id != input.requester.id
}

judged_for(person, _) if person.id == input.requester.id

# An author input without added_tools (made before they were recorded) is judged
# for every tool, as it was then.
judged_for(person, tool) if {
	person.id != input.requester.id
	tool in {t | some t in object.get(person, "added_tools", plan_tools)}
}

person_label(person) := concat("", [person.id, " (roles: ", concat(", ", person.roles), ")"]) if {
	person.id == input.requester.id
} else := concat("", [person.id, " (roles: ", concat(", ", person.roles), "), who wrote this version,"])

# The plan's tools that each role holder may use (each distinct tool checked once per person).
plan_tools := {s.tool | some s in input.steps}

allowed_uses contains [person.id, tool] if {
	some person in role_holders
	some tool in plan_tools
	tool_allowed(person, tool)
}

tool_allowed(person, tool) if {
	some role in person.roles
	some pattern in object.get(cfg.role_tools, role, [])
	pattern_matches(pattern, tool)
}

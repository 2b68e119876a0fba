# Rules about where data may be sent (the egress allowlist).
package baton

import rego.v1

# Rule: a step that sends data out may only call hosts on the egress allowlist.
egress_findings(steps) := {msg |
	some s in steps
	is_egress(s)
	host := s.url.host
	host != null
	not host_allowed(host)
	msg := sprintf("step %s: host %s is not on the egress allowlist", [s.id, host])
}

# Rule: a step that sends data out to a URL written in the plan must name a
# URL with a host we can read. (A configured HTTP endpoint tool's fixed URL is
# its s.url, so these rules judge it too; an egress tool with no URL at all gets
# the note below.)
egress_url_findings(steps) := {msg |
	some s in steps
	is_egress(s)
	s.url.url_from_ref == false
	not is_string(s.url.host)
	msg := sprintf("step %s: the URL has no host that can be checked", [s.id])
}

host_allowed(host) if {
	some pattern in cfg.egress_allowlist
	host_matches(pattern, host)
}

deny contains msg if some msg in egress_findings(input.steps) | egress_url_findings(input.steps)

step_deny contains msg if some msg in egress_findings([input.step]) | egress_url_findings([input.step])

# A URL that comes from another step's output is only known at run time:
# the plan-level decision says so, and the runtime check judges the real host.
runtime_checks contains s.id if {
	some s in input.steps
	s.url.url_from_ref
}

notes contains msg if {
	some s in input.steps
	s.url.url_from_ref
	msg := sprintf("step %s: its URL comes from %s, so its host is checked against the egress allowlist when the step runs", [s.id, s.url.url_ref])
}

notes contains msg if {
	some s in input.steps
	is_egress(s)
	host_allowed(s.url.host)
	msg := sprintf("step %s: calls %s (%s)", [s.id, s.url.host, s.effect])
}

notes contains msg if {
	some s in input.steps
	is_egress(s)
	not s.url
	msg := sprintf("step %s: %s calls the endpoint fixed by its tool definition (set by the operator, not by the plan)", [s.id, s.tool])
}

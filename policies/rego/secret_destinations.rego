# Where configured secrets may be sent (secret_destinations in the data).
# Messages name the step, the secret's NAME and the host, never a value.
package baton

import rego.v1

secret_destinations := object.get(cfg, "secret_destinations", {})

# A secret may go to a host when one of its listed patterns matches the host.
secret_may_go_to(name, host) if {
	some pattern in secret_destinations[name]
	host_matches(pattern, host)
}

# The host a step sends to, when its URL is written in the plan (or resolved at run time).
literal_host(s) := s.url.host if is_string(s.url.host)

# Rule: a step may use a configured secret (${secret:NAME}) only when
# secret_destinations lists that secret, and only to a host on its list.
secret_destination_findings(steps) := {msg |
	some s in steps
	some name in s.secret_names
	not secret_destinations[name]
	msg := sprintf("step %s: secret %s has no allowed destinations (list it under secret_destinations)", [s.id, name])
} | {msg |
	some s in steps
	some name in s.secret_names
	secret_destinations[name]
	host := literal_host(s)
	not secret_may_go_to(name, host)
	msg := sprintf("step %s: secret %s may not be sent to host %s", [s.id, name, host])
} | {msg |
	some s in steps
	some name in s.secret_names
	secret_destinations[name]
	not literal_host(s)
	not s.url.url_from_ref
	msg := sprintf("step %s: secret %s is used, but the step has no URL whose host can be checked", [s.id, name])
}

deny contains msg if some msg in secret_destination_findings(input.steps)

step_deny contains msg if some msg in secret_destination_findings([input.step])

# A URL that comes from another step is only known at run time: the runtime
# check applies the same rule to the real host.
notes contains msg if {
	some s in input.steps
	s.url.url_from_ref
	some name in s.secret_names
	secret_destinations[name]
	msg := sprintf("step %s: secret %s goes to a URL from %s; its host is checked against secret_destinations when the step runs", [s.id, name, s.url.url_ref])
}

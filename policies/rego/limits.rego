# Limits on plan size and on when batch jobs may run.
package baton

import rego.v1

write_steps := [s.id | some s in input.steps; s.effect == "write"]

# Rule: a plan may not have more steps than limits.max_steps.
deny contains msg if {
	count(input.steps) > cfg.limits.max_steps
	msg := sprintf("the plan has %d steps; at most %d are allowed", [count(input.steps), cfg.limits.max_steps])
}

# Rule: a plan may not change the world in more than limits.max_write_steps steps.
deny contains msg if {
	count(write_steps) > cfg.limits.max_write_steps
	msg := sprintf("the plan has %d write steps; at most %d are allowed", [count(write_steps), cfg.limits.max_write_steps])
}

# Off-peak: late evening to early morning (UTC), and weekends when allowed.
off_peak if input.context.hour_utc >= cfg.batch_window.start_hour

off_peak if input.context.hour_utc < cfg.batch_window.end_hour

off_peak if {
	cfg.batch_window.weekends
	input.context.weekday in {"saturday", "sunday"}
}

# Rule: tools tagged "batch" only run off-peak.
batch_findings(steps) := {msg |
	some s in steps
	"batch" in s.tags
	not off_peak
	msg := sprintf("step %s: %s is a batch job and may only run off-peak (%d:00 to %d:00 UTC or at weekends); it is %d:00 UTC now", [s.id, s.tool, cfg.batch_window.start_hour, cfg.batch_window.end_hour, input.context.hour_utc])
}

deny contains msg if some msg in batch_findings(input.steps)

# A batch step runs later than the plan is judged, maybe at peak: the runtime check judges
# the hour again when it runs (the executor checks every call of a tool tagged "batch",
# TIME_BOUND_TAGS in executor/loop.py, read or write).
runtime_checks contains s.id if {
	some s in input.steps
	"batch" in s.tags
}

step_deny contains msg if some msg in batch_findings([input.step])

# Data residency: data read in a region stays in that region.
package baton

import rego.v1

# Where a step sends or keeps data goes outside region r when the step works
# in another region, or when it sends data out to a host of no known region.
leaves_region(s, r) if {
	dest := step_region(s)
	dest != null
	dest != r
}

leaves_region(s, _) if {
	step_region(s) == null
	is_egress(s)
}

target_name(s) := sprintf("host %s", [s.url.host]) if {
	is_egress(s)
	s.url.host != null
} else := sprintf("tool %s", [s.tool])

# Rule: data read by a step in a region may not flow (through references,
# directly or via other steps) to a step or host outside that region.
deny contains msg if {
	some s in input.steps
	some source_id in s.data_sources
	source := steps_by_id[source_id]
	r := step_region(source)
	r != null
	leaves_region(s, r)
	msg := sprintf("step %s: data from step %s (region %s) would go to %s in %s", [s.id, source_id, r, target_name(s), region_name(step_region(s))])
}

# The same rule at run time, once the real host is known.
step_deny contains msg if {
	s := input.step
	some r in runtime_source_regions
	leaves_region(s, r)
	msg := sprintf("step %s: data from region %s would go to %s in %s", [s.id, r, target_name(s), region_name(step_region(s))])
}

runtime_source_regions contains r if some r in input.step.source_regions

runtime_source_regions contains r if {
	some tool in input.step.source_tools
	r := cfg.tool_regions[tool]
}

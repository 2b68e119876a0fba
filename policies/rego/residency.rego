# Data residency: data read in a region stays in that region.
package baton

import rego.v1

# The region each step of the plan works in, computed once per step.
region_of[s.id] := step_region(s) if some s in input.steps

# A step whose region is dest takes data outside region r when it works in
# another region, or when it sends data out to a host of no known region.
leaves_region(_, dest, r) if {
	dest != null
	dest != r
}

leaves_region(s, dest, _) if {
	dest == null
	is_egress(s)
}

target_name(s) := sprintf("host %s", [s.url.host]) if {
	is_egress(s)
	s.url.host != null
} else := sprintf("tool %s", [s.tool])

# Rule: data read by a step in a region may not flow (through references,
# depends_on or the workspace, directly or via other steps) to a step or host
# outside that region.
# (A step's sources are policies.inputs.DataFeeds', which the executor's check
# before a call asks too: data_sources lists every step reaching it through
# references and depends_on, since a step may read back what one it depends on
# wrote, say to a file. A step with reads_workspace (a step of a tool tagged
# "workspace", or one fed by such a step) is also fed by every step of
# input.workspace_sources: each step of the plan that may write to the
# workspace, whatever depends_on says (a file read back with no depends_on on
# its write, or one a previous run of the plan wrote), and the steps feeding
# those writes. That list is the same for every such step, so it is given once
# and read here once per region, not once per step.)
deny contains msg if {
	some s in input.steps
	some source_id in s.data_sources
	msg := residency_leak(s, source_id)
}

deny contains msg if {
	some s in input.steps
	s.reads_workspace
	dest := region_of[s.id]
	some r, source_ids in workspace_sources_by_region
	leaves_region(s, dest, r)
	some source_id in source_ids
	source_id != s.id
	msg := leak_message(s, source_id, r, dest)
}

# The steps of input.workspace_sources by their region (those of no region left out).
workspace_sources_by_region[r] := source_ids if {
	some r in {region_of[id] | some id in input.workspace_sources}
	r != null
	source_ids := [id | some id in input.workspace_sources; region_of[id] == r]
}

residency_leak(s, source_id) := msg if {
	r := region_of[source_id]
	r != null
	dest := region_of[s.id]
	leaves_region(s, dest, r)
	msg := leak_message(s, source_id, r, dest)
}

leak_message(s, source_id, r, dest) := sprintf("step %s: data from step %s (region %s) would go to %s in %s", [s.id, source_id, r, target_name(s), region_name(dest)])

# The same rule at run time, once the real host is known.
step_deny contains msg if {
	s := input.step
	dest := step_region(s)
	some r in runtime_source_regions
	leaves_region(s, dest, r)
	msg := sprintf("step %s: data from region %s would go to %s in %s", [s.id, r, target_name(s), region_name(dest)])
}

runtime_source_regions contains r if some r in input.step.source_regions

runtime_source_regions contains r if {
	some tool in input.step.source_tools
	r := cfg.tool_regions[tool]
}

# A source step's host counts as at plan time, now that a URL that came from another
# step's output is known (the input holds hosts only, never whole URLs).
runtime_source_regions contains r if {
	some host in input.step.source_hosts
	r := host_region(host)
}

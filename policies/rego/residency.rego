# Data residency: data read in a region stays in that region.
package baton

import rego.v1

# The region of each step of the plan that works in a known region (step_region), with
# its id as key: in most plans few steps or none. The rules below pick a step's sources
# out of it with built-ins (object.filter), not a lookup per source: the embedded
# interpreter is slow at both lookups and loops, and each step of a chain has every step
# before it as a source, so a lookup per source made a 200-step chain take minutes.
regioned_steps := {s.id: r | some s in input.steps; r := step_region(s); r != null}

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
# and filtered to its steps of a known region once.)
deny contains msg if some msg in listed_leaks

deny contains msg if {
	more := count_of_leaks - count(listed_leaks)
	more > 0
	msg := sprintf("and %d more flows of data out of their region (the first %d are listed)", [more, max_listed_leaks])
}

# At most this many flows are listed one by one: the embedded interpreter builds a set
# (deny) in time quadratic in its size, and a plan of 100 EU reads chained to 100 POSTs
# to a US host has 10,000 flows. Only the messages listed are made.
max_listed_leaks := 50

# The flows of data out of their region, a group for each step and region they leave:
# [step id, region, target_name, region_name(dest), the sources in that region (an
# object, made by a built-in: the interpreter is slow to iterate)].
leak_groups := [[s.id, r, target_name(s), region_name(dest), in_region] |
	some s in input.steps
	sources := regioned_sources(s)
	count(sources) > 0
	dest := step_region(s)
	some r in {source_r | some source_r in sources}
	leaves_region(s, dest, r)
	in_region := object.filter(sources, steps_in_region[r])
]

# The ids of the steps in each known region.
steps_in_region := {r: [id | some id; regioned_steps[id] == r] | some r in {x | some x in regioned_steps}}

leak_counts := [count(group[4]) | some group in leak_groups]

count_of_leaks := sum(leak_counts)

# The first max_listed_leaks flows, in the order of leak_groups.
listed_leaks := [msg |
	some i
	group := leak_groups[i]
	before := sum(array.slice(leak_counts, 0, i))
	before < max_listed_leaks
	source_ids := array.slice(sort([id | some id; group[4][id]]), 0, max_listed_leaks - before)
	some source_id in source_ids
	msg := sprintf("step %s: data from step %s (region %s) would go to %s in %s", [group[0], source_id, group[1], group[2], group[3]])
]

# The sources of step s of a known region, with their regions: those reaching it through
# references and depends_on, and those of the workspace if it reads the workspace.
regioned_sources(s) := object.union(own, object.remove(workspace_regioned, [s.id])) if {
	s.reads_workspace
	own := object.filter(regioned_steps, s.data_sources)
} else := object.filter(regioned_steps, s.data_sources)

# The steps of input.workspace_sources of a known region, with their regions.
workspace_regioned := object.filter(regioned_steps, input.workspace_sources)

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

# The decision: what the engine returns for a plan (data.baton.decision) and
# for one call at run time (data.baton.step_decision).
package baton

import rego.v1

# Risk: each step adds per_step, writes and some tags add more, large plans more again.
effect_weight(s) := cfg.risk.write if s.effect == "write"

else := 0

tag_weight(s) := sum([object.get(cfg.risk.tags, t, 0) | some t in s.tags])

size_weight := cfg.risk.large_plan if count(input.steps) >= cfg.risk.large_plan_steps

else := 0

step_risks := [w | some s in input.steps; w := (cfg.risk.per_step + effect_weight(s)) + tag_weight(s)]

raw_risk := sum(step_risks) + size_weight

# Capped at 100. (min() over computed numbers is unreliable in the embedded interpreter.)
risk := raw_risk if raw_risk <= 100

else := 100

# Standard change: a plan made from a pre-approved template, with every
# parameter inside the template's bounds, needs no approval, unless the person
# who pre-approved the template asked for or wrote it: four eyes, so that
# nobody runs their own change alone. A template with nobody on record as its
# pre-approver (saved before that was recorded) makes no standard change, nor
# does one whose pre-approver may no longer pre-approve (no longer a declared
# user, or without an approving role now): like an approval whose approver
# lost the role, the pre-approval no longer counts.
standard_change if {
	input.template.pre_approved
	input.template.within_bounds
	pre_approved_by_someone_else
	pre_approval_counts
}

# An input without the check's verdict on the pre-approver fails closed.
pre_approval_counts if count(pre_approval_problems) == 0

pre_approval_problems := input.template.pre_approval_problems if {
	is_array(input.template.pre_approval_problems)
}

else := ["nobody judged whether its pre-approver may still pre-approve"]

pre_approved_by_someone_else if {
	is_string(input.template.approved_by)
	input.template.approved_by != ""
	input.template.approved_by != input.requester.id
	input.template.approved_by != object.get(object.get(input, "author", {}), "id", "")
}

# Rule: a plan that writes anything, or is risky, needs approval; risk at or
# above approval.two_person_risk needs two distinct approvers.
approvals_needed := 0 if standard_change

approvals_needed := 2 if {
	not standard_change
	risk >= cfg.approval.two_person_risk
}

approvals_needed := 1 if {
	not standard_change
	risk < cfg.approval.two_person_risk
	count(write_steps) > 0
}

approvals_needed := 0 if {
	not standard_change
	risk < cfg.approval.two_person_risk
	count(write_steps) == 0
}

notes contains msg if {
	standard_change
	msg := sprintf("standard change: made from pre-approved template %s v%d with parameters inside its bounds", [input.origin.name, input.origin.version])
}

# Said only where it matters: a read-only, low-risk plan needs no approver either way. A
# pre-approval that does not count says why below instead (not saved by templates add,
# changed on disk, its giver no longer allowed): the one reason, not this one as well.
notes contains msg if {
	input.template.pre_approved
	input.template.within_bounds
	not pre_approved_by_someone_else
	pre_approval_counts
	approvals_needed > 0
	msg := own_pre_approval_note
}

own_pre_approval_note := sprintf("not a standard change: %s pre-approved template %s v%d and asked for or wrote this plan; another approver must sign it off", [input.template.approved_by, input.origin.name, input.origin.version]) if {
	is_string(input.template.approved_by)
	input.template.approved_by != ""
}

else := sprintf("not a standard change: nobody is on record as having pre-approved template %s v%d (saved before that was recorded); an approver must sign it off, or re-save the template (baton templates add) as a user who may pre-approve it", [input.origin.name, input.origin.version])

notes contains msg if {
	input.template.pre_approved
	input.template.within_bounds
	not pre_approval_counts
	approvals_needed > 0
	msg := concat("", [sprintf("not a standard change: the pre-approval of template %s v%d no longer counts: ", [input.origin.name, input.origin.version]), concat("; ", pre_approval_problems), "; an approver must sign it off"])
}

notes contains msg if {
	input.template.pre_approved
	not input.template.within_bounds
	msg := concat("", ["not a standard change: parameters outside the template's bounds (", concat("; ", input.template.bound_problems), ")"])
}

notes contains msg if {
	count(write_steps) > 0
	msg := concat("", [format_int(count(write_steps), 10), " step(s) change the world: ", concat(", ", write_steps)])
}

notes contains msg if {
	count(deny) == 0
	approvals_needed > 0
	counts := sprintf("risk %d (two approvers from %d): needs %d approver(s) with role ", [risk, cfg.approval.two_person_risk, approvals_needed])
	msg := concat("", [counts, concat(" or ", cfg.approval.roles)])
}

# An input without the shape Baton builds (policies.inputs) is denied, naming what it
# lacks: the rules deny what they find, and find nothing in what is not there, so a
# decision taken on no input at all (OPA's answer to a GET on its Data API, which a
# redirected POST becomes) would allow with risk 0 and no approval.
deny contains msg if some msg in plan_input_problems

step_deny contains msg if some msg in step_input_problems

plan_input_problems contains "policy input lacks its steps (an array)" if not is_array(input.steps)

plan_input_problems contains msg if {
	is_array(input.steps)
	some i, s in input.steps
	not well_formed_step(s)
	msg := sprintf("policy input lacks the id or tool of step %d", [i + 1])
}

plan_input_problems contains msg if some msg in party_input_problems

step_input_problems contains "policy input lacks the step to check (its id and tool)" if {
	not well_formed_step(input.step)
}

step_input_problems contains msg if some msg in party_input_problems

party_input_problems contains "policy input lacks the requester (an id and roles)" if {
	not well_formed_person(input.requester)
}

party_input_problems contains "policy input lacks its context (the hour and weekday)" if {
	not well_formed_context(input.context)
}

well_formed_step(s) if {
	is_string(s.id)
	is_string(s.tool)
}

well_formed_person(p) if {
	is_string(p.id)
	is_array(p.roles)
}

well_formed_context(c) if {
	is_number(c.hour_utc)
	is_string(c.weekday)
}

decision := {
	"allow": count(deny) == 0,
	"deny": sort(deny),
	"approvals": {"count": approvals_needed, "roles": cfg.approval.roles},
	"risk": risk,
	"notes": sort(notes),
	"runtime_checks": sort(runtime_checks),
}

step_decision := {
	"allow": count(step_deny) == 0,
	"deny": sort(step_deny),
}

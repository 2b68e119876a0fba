# Rules about secrets written into plans. Messages name the step, the argument
# and the kind of secret, never the value.
package baton

import rego.v1

# The kinds of secret a literal string looks like (secret_patterns in the data).
secret_kinds(str) := {p.kind |
	some p in cfg.secret_patterns
	regex.match(p.pattern, str.value)
}

# A long, random-looking value under a key named like "password" or "token".
# (The cheap number checks come first: most strings stop there.)
sensitive_value(str) if {
	str.length >= cfg.sensitive_value_min_length
	str.entropy >= cfg.sensitive_value_min_entropy
	not contains(str.value, "${secret:")
	not contains(str.value, " ") # phrases ("rotate monthly") are settings, not secrets
	sensitive_key(lower(str.key))
}

sensitive_key(key) if {
	some word in cfg.sensitive_key_words
	contains(key, word)
}

# Any of the patterns: one regular expression run per string finds the few
# strings worth checking pattern by pattern (an alternation matches where any part does).
any_secret_pattern := concat("|", [p.pattern | some p in cfg.secret_patterns])

# Rule: no literal secret in any argument; secrets are configured in settings
# and referred to as ${secret:NAME}. (Rules take a list of steps: the plan's,
# or the one call at run time; one pass over all of them is much faster.)
secret_findings(steps) := {msg |
	some s in steps
	some str in s.strings
	str.length >= 8 # every pattern needs at least 8 characters; skipping short ones is faster
	regex.match(any_secret_pattern, str.value)
	some kind in secret_kinds(str)
	msg := sprintf("step %s: argument %s contains %s; configure it as a secret and write ${secret:NAME} instead", [s.id, masked_path(steps, str), kind])
} | {msg |
	some s in steps
	some str in s.strings
	sensitive_value(str)
	msg := sprintf("step %s: argument %s looks like a literal secret (%s); configure it as a secret and write ${secret:NAME} instead", [s.id, masked_path(steps, str), sensitive_word(str.key)])
}

# Rule: no literal credential in a URL's query, fragment or path parameters
# (?api_key=..., #access_token=..., /cart;jsessionid=..., //db:1433;password=...).
# The input lists them (url_credentials: the string's path and the parameter's name, a
# name judged whole: api_key, token, sig; not keyword nor csrf_token), each parameter
# read as written and percent-decoded until stable (api%255Fkey=, api_key%3D...), so
# that both engines judge the same list. A value written as ${secret:NAME} is not
# listed: secret_destinations.rego rules where it may go.
url_credential_findings(steps) := {msg |
	some s in steps
	some found in s.url_credentials
	msg := sprintf("step %s: argument %s carries a literal credential in URL parameter %s; configure it as a secret and send it as ${secret:NAME} in a header instead", [s.id, masked_path(steps, found), shown_param(found.param)])
}

# A parameter name that is itself a secret (an AWS key id followed by _key) is not quoted.
shown_param(name) := "<a secret>" if {
	regex.match(any_secret_pattern, name)
} else := name

# A secret written as a key would be quoted by the path of every string under
# it: each string a secret pattern matches is masked in the paths printed.
# (Only denied steps reach this; the scan itself never builds it.)
masked_path(steps, str) := strings.replace_n(secret_masks(steps), str.path)

secret_masks(steps) := {text: "<a secret>" |
	some s in steps
	some found in s.strings
	found.length >= 8
	regex.match(any_secret_pattern, found.value)
	text := found.value
}

# The sensitive word the key contains, not the key: the rest of it may be a secret.
sensitive_word(key) := [word | some word in cfg.sensitive_key_words; contains(lower(key), word)][0]

# Rule: a step whose arguments hold more strings than the input carries
# (strings_over_limit) cannot be scanned whole; it is denied rather than judged
# on part of them, since a secret could sit in the part left out. Which limit it
# passed (its own, the plan's, or strings counted with repeats) is computed with
# the input (strings_over_limit_reason) and never quotes a value.
unscanned_findings(steps) := {msg |
	some s in steps
	object.get(s, "strings_over_limit", false) != false
	fallback := sprintf("more than %d in its arguments", [count(s.strings)])
	reason := object.get(s, "strings_over_limit_reason", fallback)
	msg := sprintf("step %s: too many strings to scan for secrets (%s); send fewer values in one call", [s.id, reason])
}

deny contains msg if some msg in secret_findings(input.steps)

deny contains msg if some msg in unscanned_findings(input.steps)

deny contains msg if some msg in url_credential_findings(input.steps)

step_deny contains msg if some msg in secret_findings([input.step])

step_deny contains msg if some msg in unscanned_findings([input.step])

step_deny contains msg if some msg in url_credential_findings([input.step])

notes contains msg if {
	some s in input.steps
	count(s.secret_names) > 0
	msg := concat("", ["step ", s.id, ": uses configured secret(s) ", concat(", ", s.secret_names)])
}

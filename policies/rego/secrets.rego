# Rules about secrets written into plans. Messages name the step, the argument
# and the kind of secret, never the value.
package baton

import rego.v1

# The kinds of secret a literal string looks like (secret_patterns in the data).
secret_kinds(str) := {p.kind |
	some p in patterns_to_try(str)
	regex.match(p.pattern, str.value)
}

# The patterns worth running on a string. The embedded engine gives each string the indexes
# of the patterns that may match it (may_match: the others need a piece of literal text the
# string lacks, policies/long_strings.py), since its regular expressions backtrack (6 ms for
# a window of random letters and digits); without it, one regular expression run per string
# finds the few strings worth checking pattern by pattern (an alternation matches where any
# part does).
patterns_to_try(str) := [cfg.secret_patterns[j] | some j in str.may_match] if {
	is_array(str.may_match)
} else := cfg.secret_patterns if {
	regex.match(any_secret_pattern, str.value)
} else := []

# A long, random-looking value under a key named like "password" or "token" (see
# sensitive_word). The ${secret:NAME} references in it are the legitimate way to send a
# secret and are taken out; what is left is judged: "x${secret:A}Zk3x9QpL..." still writes
# a secret. The length judged is the piece's (credential_pieces); the entropy is the whole
# value's, the only one the input gives. (The cheap number checks come first: most strings
# stop there.)
long_random(str) if {
	str.length >= sensitive_value_min_length
	str.entropy >= sensitive_value_min_entropy
}

# Read once per evaluation: the interpreter looks cfg up again at each use (a third of
# long_random's time over thousands of windows).
sensitive_value_min_length := cfg.sensitive_value_min_length

sensitive_value_min_entropy := cfg.sensitive_value_min_entropy

sensitive_value(str) if {
	some piece in credential_pieces(literal_text(str.value))
	count(piece) >= sensitive_value_min_length
	not contains(piece, " ") # phrases ("rotate monthly") are settings, not secrets
	not location_under_location_key(str, piece)
}

# A location (below) is taken for one only under a key that names one: its last word is one
# of location_key_words (token_url, SecretId, POSTGRES_PASSWORD_FILE, secret_arn) or the
# whole key one of location_key_names (S3's Key). "A word" below is a pattern, not a
# dictionary: a short random lower-case token can pass for one, so under a key naming the
# credential itself (api_token, webhook_secret, db_password) every value is judged.
location_under_location_key(str, piece) if {
	location_key(key_text(key_of(str)))
	ordinary_location(piece)
}

location_key(key) if {
	words := key_words(key)
	count(words) > 0
	words[count(words) - 1] in {lower(w) | some w in object.get(cfg, "location_key_words", [])}
}

location_key(key) if {
	flat_name(key) in {flat_name(n) | some n in object.get(cfg, "location_key_names", [])}
}

# Where a secret is, written in ordinary words, is no secret though long and varied enough
# to pass for one (token_url: https://auth.example.com/oauth/token, SecretId:
# prod/db/password-rotation, S3's Key: 2024/q1/sales-report.csv): an http(s) URL with no
# user information whose host, path and query are such words, a path of two or more
# segments of them, or an AWS ARN whose resource is such words. A word is letters (one
# capital first, or all capitals) then digits, or digits; words are joined by "-", "_" or
# "."; letters are at most 15 (microsoftonline, authentication) and, from 4 on, hold a
# vowel (y counting): ordinary_word_letters. A random token (Zk3x9QpL, 3f9a1c0d,
# kqzjxvbwtyrpmnhgfdsa, xkqzpwtrvb) is no such word, so a secret as a URL's host or in its
# path (a webhook's, a bot's token) or as an ARN's resource is still judged, and a
# credential in its query or before its host is found by the URL rules and patterns anyway.
# A memorable password (carve-quill-ample-stove) has no "/" and stays judged.
ordinary_location(piece) if {
	regex.match(ordinary_location_pattern, piece)
	not vowelless_letters(word_text(piece))
}

ordinary_location_pattern := concat("", ["^(", concat("|", [ordinary_url, ordinary_path, aws_arn]), ")$"])

# The lengths are bounded here; a vowel is looked for by vowelless_letters (RE2, OPA's
# regular expressions, has no look-ahead to say both in one expression).
ordinary_word := `([A-Za-z][a-z]{0,14}[0-9]{0,8}|[A-Z]{2,15}[0-9]{0,8}|[0-9]{1,20})`

ordinary_segment := concat("", [ordinary_word, "([-_.]", ordinary_word, ")*"])

ordinary_path := concat("", ["/?", ordinary_segment, "(/", ordinary_segment, ")+/?"])

ordinary_query_pair := concat("", [ordinary_segment, "(=", ordinary_segment, ")?"])

ordinary_host_label := concat("", [ordinary_word, "(-", ordinary_word, ")*"])

# An IPv6 address is at most eight groups of four hex digits, no longer token.
ordinary_url := concat("", [
	"https?://(", ordinary_host_label, `(\.`, ordinary_host_label, ")*",
	`|\[[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}\])(:[0-9]{1,5})?`,
	"(/", ordinary_segment, ")*/?",
	`(\?`, ordinary_query_pair, "(&", ordinary_query_pair, ")*)?",
])

# arn:partition:service:region:account:resource. Secrets Manager ends a secret's ARN with
# "-" and 6 random characters (prod/db/password-AbCdEf): that suffix alone is taken as it
# is, and word_text leaves it out of the vowel check.
aws_arn := concat("", [
	`arn:aws(-cn|-us-gov|-iso(-[a-z])?)?:[a-z][a-z0-9-]{1,29}:([a-z]{2}(-[a-z]{2,9}){1,2}-[0-9]{1,2})?:`,
	"[0-9]{0,12}:", ordinary_segment, "([/:]", ordinary_segment, ")*(-[A-Za-z0-9]{6})?",
])

# The text whose letter runs must each read as a word: a URL without its scheme (https has
# no vowel), an ARN without a Secrets Manager suffix.
word_text(piece) := regex.replace(piece, `-[A-Za-z0-9]{6}$`, "") if {
	startswith(piece, "arn:")
} else := regex.replace(piece, `^https?://`, "")

vowelless_letters(text) if {
	some run in regex.find_n(`[A-Za-z]{4,}`, text, -1)
	not regex.match(`[AEIOUYaeiouy]`, run)
}

# The text of a value with its ${secret:NAME} references taken out (as the HTTP tool's
# SECRET_REF finds them).
literal_text(value) := regex.replace(value, `\$\{secret:[A-Za-z_][A-Za-z0-9_.-]*\}`, "") if {
	contains(value, "${secret:")
} else := value

# What could be a credential in a value: each piece between semicolons (a Cookie
# header's pairs), and of a piece written "Scheme credential" (Authorization: Basic
# ..., Token ..., Bearer ...) the credential alone. A scheme alone is no credential: what is
# left of "PrivateToken ${secret:T}" once the reference is taken out (12 letters, as long as a
# secret may be).
credential_pieces(text) := parameter_values(text) if {
	# Two tokens at least after the scheme: one alone is a token68 (Basic YWxp...ZA==), whose
	# "=" padding would read as a parameter, or one parameter, judged whole as such a token.
	regex.match(`^[A-Za-z][A-Za-z0-9-]* +[^ ]+ `, trim_space(text))
	regex.match(auth_parameter_list, text)
	lower(regex.find_n(`^[A-Za-z][A-Za-z0-9-]*`, text, 1)[0]) in auth_schemes
} else := {credential_part(trim_space(piece)) | some piece in split(text, ";")}

# A credential written as a list of parameters after its scheme (Digest username="...",
# response="..."; OAuth oauth_token="...", oauth_signature="..."; AWS4-HMAC-SHA256
# Credential=..., SignedHeaders=host;x-amz-date, Signature=...): each parameter's value,
# quotes aside, is a piece, judged as a one-token credential is (a quoted phrase, realm="Our
# API", is not). Read whole: a ";" there is inside a value, no Cookie's separator.
# A quoted value may hold quoted pairs (RFC 9110: username="s\"vc"); a list may hold a
# bare token (Digest's userhash flag): neither turns the list's reading off.
auth_parameter := `([A-Za-z][A-Za-z0-9_-]*) *= *("(([^"\\]|\\.)*)"|([^ ,"]*))`

auth_list_item := concat("", ["(", auth_parameter, "|[A-Za-z][A-Za-z0-9_-]*)"])

auth_parameter_list := concat("", [
	`^[A-Za-z][A-Za-z0-9-]* +`, auth_list_item, "( *, *", auth_list_item, ")* *,? *$",
])

parameter_values(text) := {concat("", [found[3], found[5]]) |
	some found in regex.find_all_string_submatch_n(auth_parameter, text, -1)
}

credential_part(piece) := found[0][2] if {
	contains(piece, " ")
	found := regex.find_all_string_submatch_n(`^([A-Za-z][A-Za-z0-9-]*) +([^ ]+)$`, piece, 1)
	lower(found[0][1]) in auth_schemes
} else := "" if {
	lower(piece) in auth_schemes
} else := piece

# HTTP authentication schemes followed by a credential, read case aside: every scheme of
# IANA's HTTP Authentication Scheme Registry (as of 2025: Basic, Bearer, Concealed, Digest,
# DPoP, GNAP, HOBA, Mutual, Negotiate, OAuth, PrivateToken, SCRAM-SHA-1, SCRAM-SHA-256,
# vapid) and common others (NTLM, Token, ApiKey, Key, SSWS, Signature, AWS4-HMAC-SHA256).
# Both forms are judged: the one-token one (GNAP 80UPRY5NM33OMUKMKSKU) and the parameter
# list (auth_parameter_list).
auth_schemes := {
	"basic", "bearer", "concealed", "digest", "dpop", "gnap", "hoba", "mutual", "negotiate",
	"oauth", "privatetoken", "scram-sha-1", "scram-sha-256", "vapid",
	"ntlm", "token", "apikey", "key", "ssws", "signature", "aws4-hmac-sha256",
}

# A string's key as the rules below read it. A key longer than KEY_WINDOW
# (policies/long_strings.py) comes as its last characters (key), where a name is read at
# its end, with every letter and digit of it lower-cased (key_flat), where a word is
# looked for anywhere: [key, key_flat]. No regular expression reads a longer key.
key_of(str) := [str.key, str.key_flat] if {
	is_string(object.get(str, "key_flat", null))
} else := str.key

# Of a key_of value: the text whose words end the key, and all its letters and digits.
key_text(key) := key[0] if is_array(key)

else := key

key_letters(key) := key[1] if is_array(key)

else := flat_name(key)

# A key's words: split at anything but an ASCII letter or digit and where a lower-case
# letter or digit meets a capital (apiKey, X-API-Key, api_key: api, key), lower-cased, as
# tools.redaction reads parameter names; a run of capitals stays one word (HTTPAuth).
key_words(key) := [lower(w) | some w in regex.find_n(`[A-Z]+[a-z0-9]*|[a-z0-9]+`, key, -1)]

# A name read case and separators aside: X-API-Key, api-key and apiKey all read "xapikey"
# (key_words joined: its ASCII letters and digits, lower-cased).
flat_name(name) := lower(regex.replace(name, `[^A-Za-z0-9]`, ""))

# The configured words and names so read, once per evaluation.
flat_key_words := [[word, flat] |
	some word in cfg.sensitive_key_words
	flat := flat_name(word)
	flat != ""
]

flat_key_names := [[name, flat_name(name)] |
	some name in object.get(cfg, "sensitive_key_names", [])
]

flat_ordinary_names := {flat_name(name) | some name in object.get(cfg, "ordinary_key_names", [])}

# The first configured word the key contains (X-Auth-Token: token; X-API-Key: api_key),
# else the first configured name it is or ends with as whole words (Proxy-Authorization:
# authorization; db_pwd: pwd), unless it ends with an ordinary name, which says what the
# value is (Idempotency-Key, token_type, passphrase_hint, tokenizer).
# Messages quote it, never the key: the rest of the key may be a secret.
#
# Each string's key is read for that string alone: an object or set of the keys, each read
# once, is built by the interpreter in time and memory quadratic in its size (1,200
# distinct keys password_0_<i> took 8 s and 2 GiB, 2,400 35 s and 8.5 GiB). A table's rows
# repeat their keys, so reading one costs a few regular expressions at most, and one for
# most keys (note, id, X-Request-Id): sensitive_key_pattern.
sensitive_word(key) := word if {
	regex.match(sensitive_key_pattern, key_letters(key))
	word := key_word_or_name(key)
}

# Whether a key's letters may hold a configured word or end with a configured name.
sensitive_key_pattern := concat("|", array.concat(
	[f | some [_, f] in flat_key_words],
	[concat("", [f, "$"]) | some [_, f] in flat_key_names],
))

key_word_or_name(key) := word if {
	flat := key_letters(key)
	words := [word | some [word, f] in flat_key_words; contains(flat, f)]
	count(words) > 0
	not ordinary_ending(concat(" ", key_words(key_text(key))))
	word := words[0]
} else := name if {
	words := concat(" ", key_words(key_text(key)))
	not ordinary_ending(words)
	names := [name | some [name, pattern] in key_name_patterns; regex.match(pattern, words)]
	count(names) > 0
	name := names[0]
}

# A configured name read as the last whole words of a key's words (key_words joined by
# spaces), case and separators aside: "key" ends "x idempotency key", "idempotencykey" ends
# "x idempotency key" and "idempotency key", neither ends "monkey". (Its letters are ASCII
# letters and digits, none special to a regular expression.)
ending_pattern(flat) := concat("", ["(^| )", concat(" ?", regex.find_n(`.`, flat, -1)), "$"])

key_name_patterns := [[name, ending_pattern(f)] | some [name, f] in flat_key_names; f != ""]

ordinary_endings := concat("|", [ending_pattern(f) | some f in flat_ordinary_names; f != ""])

ordinary_ending(words) if {
	ordinary_endings != ""
	regex.match(ordinary_endings, words)
}

# Any of the patterns (see patterns_to_try).
any_secret_pattern := concat("|", [p.pattern | some p in cfg.secret_patterns])

# Rule: no literal secret in any argument; secrets are configured in settings
# and referred to as ${secret:NAME}. (Rules take a list of steps: the plan's,
# or the one call at run time; one pass over all of them is much faster.) A finding
# is [the step's position, the string's path, which rule (0 here, 1 and 2 below), what
# it found (a kind here, a word or a parameter's name below)]: secret_listing makes
# messages (paths masked) of at most 50 of them.
pattern_findings(steps) := [finding |
	some i # (some i, s in steps: the interpreter reads a comprehension's comma as a list's)
	s := steps[i]
	some str in s.strings
	str.length >= 8 # every pattern needs at least 8 characters; skipping short ones is faster
	some kind in secret_kinds(str)
	finding := [i, str.path, 0, kind]
]

key_findings(steps) := [finding |
	some i
	s := steps[i]
	some str in s.strings
	long_random(str)
	word := sensitive_word(key_of(str))
	sensitive_value(str)
	finding := [i, str.path, 1, word]
]

# Rule: no literal credential in a URL's query, fragment or path parameters
# (?api_key=..., #access_token=..., /cart;jsessionid=..., //db:1433;password=...).
# The input lists them (url_credentials: the string's path and the parameter's name, a
# name judged whole: api_key, token, sig; not keyword nor csrf_token), each parameter
# read as written and percent-decoded until stable (api%255Fkey=, api_key%3D...), so
# that both engines judge the same list. A value written as ${secret:NAME} is not
# listed: secret_destinations.rego rules where it may go. (Findings as pattern_findings'.)
url_credential_findings(steps) := [finding |
	some i
	s := steps[i]
	some found in s.url_credentials
	finding := [i, found.path, 2, shown_param(found.param)]
]

# The deny message of a finding of pattern_findings, key_findings or url_credential_findings.
secret_message(steps, finding) := msg if {
	finding[2] == 0
	msg := sprintf("step %s: argument %s contains %s; configure it as a secret and write ${secret:NAME} instead", [steps[finding[0]].id, masked_path(finding[1]), finding[3]])
}

secret_message(steps, finding) := msg if {
	finding[2] == 1
	msg := sprintf("step %s: argument %s looks like a literal secret (%s); configure it as a secret and write ${secret:NAME} instead", [steps[finding[0]].id, masked_path(finding[1]), finding[3]])
}

secret_message(steps, finding) := msg if {
	finding[2] == 2
	msg := sprintf("step %s: argument %s carries a literal credential in URL parameter %s; configure it as a secret and send it as ${secret:NAME} in a header instead", [steps[finding[0]].id, masked_path(finding[1]), finding[3]])
}

# Rule: no user information in the URL a step calls (https://TOKEN@host/,
# https://user@host/): the HTTP client sends it as Basic authentication, so a token there
# is a literal credential even without a password (user:password@ is a secret pattern too,
# in any text). The input flags it (url_has_credentials); the message never quotes it.
userinfo_findings(steps) := {msg |
	some s in steps
	object.get(object.get(s, "url", {}), "url_has_credentials", false) == true
	msg := sprintf("step %s: its URL carries credentials before the host (user@host), which would be sent as Basic authentication; configure them as a secret and send them as ${secret:NAME} in a header instead", [s.id])
}

# A parameter name that is itself a secret (an AWS key id followed by _key) is not quoted.
shown_param(name) := "<a secret>" if {
	regex.match(any_secret_pattern, name)
} else := name

# A secret written as a key would be quoted by the path of every string under
# it: each name a path quotes (a key that reads as a name, at most 41 characters:
# policies/inputs.py) that a secret pattern matches is masked in the paths printed.
# (Only denied steps reach this; the scan itself never builds it.) Judging the
# path's own names keeps each finding's cost its own: masking every string of the
# steps that a pattern matched found them again for every finding (300 took 100 s
# under the interpreter's global lock), and looking names up in a set of them read
# the set element by element there (2,000 took three times as long as without).
masked_path(path) := strings.replace_n(path_masks(path), path)

path_masks(path) := {name: "<a secret>" |
	some name in regex.find_n(`[A-Za-z_][A-Za-z0-9_-]*`, path, -1)
	regex.match(any_secret_pattern, name)
}

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

# The literal secrets and URL credentials of the steps: the messages of at most
# max_listed_secrets findings, in step order and then by path, and how many more there are.
# The embedded interpreter builds a set (deny) in time quadratic in its size: one POST of
# a table of 4,990 AWS keys took 28 s under its global lock. Lists instead, and messages
# only for the findings listed (masking a path costs a few regular expressions). Each
# finding counts once: sorted, a repeat (a secret in two overlapping windows of a long
# string) follows the one it repeats. (array.slice, not previous[j]: the interpreter
# looked that index up element by element, 1,000 findings in 3 s.) Two findings may
# still make one message (two secrets written as keys mask to one path); deny lists it
# once, and the count counts both.
secret_listing(steps) := array.concat(listed, more_secrets(count(distinct) - max_listed_secrets)) if {
	found := sort(array.concat(
		array.concat(pattern_findings(steps), key_findings(steps)),
		url_credential_findings(steps),
	))
	previous := array.concat([null], found)
	distinct := [finding |
		some j
		finding := found[j]
		[finding] != array.slice(previous, j, j + 1)
	]
	listed := [secret_message(steps, finding) | some finding in array.slice(distinct, 0, max_listed_secrets)]
}

max_listed_secrets := 50

more_secrets(more) := [msg] if {
	more > 0
	msg := sprintf("and %d more literal secrets in arguments (the first %d are listed)", [more, max_listed_secrets])
} else := []

plan_secret_listing := secret_listing(input.steps)

step_secret_listing := secret_listing([input.step])

deny contains msg if some msg in plan_secret_listing

deny contains msg if some msg in unscanned_findings(input.steps)

deny contains msg if some msg in userinfo_findings(input.steps)

step_deny contains msg if some msg in step_secret_listing

step_deny contains msg if some msg in unscanned_findings([input.step])

step_deny contains msg if some msg in userinfo_findings([input.step])

notes contains msg if {
	some s in input.steps
	count(s.secret_names) > 0
	msg := concat("", ["step ", s.id, ": uses configured secret(s) ", concat(", ", s.secret_names)])
}

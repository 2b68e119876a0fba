# Helpers the other rule files share. Nothing here denies anything.
#
# Interpreter note: the embedded engine quotes a concat() result passed to
# sprintf's %s, so messages with joined lists are built with concat("", [...]).
package baton

import rego.v1

cfg := data.baton_config

# A tool pattern matches a tool name exactly, as "prefix.*", or as "*".
pattern_matches(pattern, _) if pattern == "*"

pattern_matches(pattern, name) if pattern == name

pattern_matches(pattern, name) if {
	endswith(pattern, ".*")
	startswith(name, substring(pattern, 0, count(pattern) - 1))
}

# A host pattern is an exact host, or "*.domain" for any sub-domain of domain. Hosts come
# lower-cased without a trailing dot (policies.inputs), in the ASCII form requests send
# (xn--...); patterns are read so too, however the data writes them ("*.EU.example.com",
# "example.com."): one that matched nothing would let data of a region go anywhere.
host_matches(pattern, host) if {
	is_string(host)
	host_pattern(pattern) == host
}

host_matches(pattern, host) if {
	is_string(host)
	p := host_pattern(pattern)
	startswith(p, "*.")
	endswith(host, substring(p, 1, -1))
}

host_pattern(pattern) := trim_right(lower(pattern), ".")

# A step sends data out when its tool is tagged "egress".
is_egress(s) if "egress" in s.tags

# The region a step works in: the data's tool_regions entry first, then the
# region of the host it calls, then the region the tool declares (maybe none).
step_region(s) := r if {
	r := cfg.tool_regions[s.tool]
} else := r if {
	r := host_region(s.url.host)
} else := s.region

# The region of a host from host_regions (a separate function so that steps
# without a URL skip the loop over the patterns).
host_region(host) := r if {
	is_string(host)
	some pattern, r in cfg.host_regions
	host_matches(pattern, host)
}

# "region eu" or "no region" for messages.
region_name(r) := sprintf("region %s", [r]) if r != null

else := "no known region"

package metrics

import "strings"

// Reason classes, the only values of spillway_cooldowns_total's reason_class.
const (
	ReasonRateLimited    = "rate_limited"
	ReasonQuota          = "quota"
	ReasonAuth           = "auth"
	ReasonDeploymentGone = "deployment_gone"
	ReasonOther          = "other"
)

// Cooldown counts a deployment entering a cooldown. reason is the router's
// free-text Outcome.Reason; only its class (see ReasonClass) becomes a
// label, since reasons carry durations and upstream codes.
func (m *Metrics) Cooldown(deployment, reason string) {
	m.cooldowns.WithLabelValues(deployment, ReasonClass(reason)).Inc()
}

// ReasonClass maps a cooldown reason, as router.ClassifyResponse words it,
// to a label value. Matching ignores case; a status code is read at the start
// of the reason, after an optional "upstream ". The first rule that matches
// wins:
//
//  1. quota: contains "quota" ("429 quota exhausted, retry-after 1h0m0s").
//  2. rate_limited: status 429, or contains "rate limit" or "throttl"
//     ("429 retry-after 6s", "429 rate limited").
//  3. auth: status 401 or 403, or contains "unauthorized", "forbidden" or
//     "invalid key" ("upstream 401: invalid key"), or starts with
//     "entra token" (no Entra ID token for the deployment).
//  4. deployment_gone: status 404 or any 3xx, or contains "not found" or
//     "does not exist" ("upstream 404: DeploymentNotFound",
//     "upstream 302: redirect, check the api base").
//  5. other: anything else (a transport error, a 5xx).
//
// Quota comes first because a quota 429 starts with 429 too.
func ReasonClass(reason string) string {
	code := strings.TrimPrefix(strings.TrimSpace(reason), "upstream ")
	switch {
	case containsFold(reason, "quota"):
		return ReasonQuota
	case hasStatus(code, "429"), containsFold(reason, "rate limit"), containsFold(reason, "throttl"):
		return ReasonRateLimited
	case hasStatus(code, "401"), hasStatus(code, "403"), containsFold(reason, "unauthorized"),
		containsFold(reason, "forbidden"), containsFold(reason, "invalid key"), strings.HasPrefix(reason, "entra token"):
		return ReasonAuth
	case hasStatus(code, "404"), is3xx(code), containsFold(reason, "not found"),
		containsFold(reason, "does not exist"):
		return ReasonDeploymentGone
	}
	return ReasonOther
}

// hasStatus reports whether s starts with the status code and the code is a
// whole word ("4290 ms" is not a 429).
func hasStatus(s, code string) bool {
	return strings.HasPrefix(s, code) && (len(s) == len(code) || !isDigit(s[len(code)]))
}

func is3xx(s string) bool {
	return len(s) >= 3 && s[0] == '3' && isDigit(s[1]) && isDigit(s[2]) && (len(s) == 3 || !isDigit(s[3]))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// containsFold reports whether s contains substr, ignoring ASCII case.
// substr must be lower-case ASCII. It does not allocate.
func containsFold(s, substr string) bool {
	n := len(substr)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n && lower(s[i+j]) == substr[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

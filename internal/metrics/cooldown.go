package metrics

import "github.com/spillwayhq/spillway/internal/router"

// Reason classes, the only values of spillway_cooldowns_total's reason_class.
const (
	ReasonRateLimited    = "rate_limited"
	ReasonQuota          = "quota"
	ReasonAuth           = "auth"
	ReasonDeploymentGone = "deployment_gone"
	ReasonOther          = "other"
)

// Cooldown counts a deployment entering a cooldown for outcome o. The label
// is the class of o's verdict, which the router's classifier has already
// decided; o.Reason's free text (durations, upstream codes) never becomes a
// label.
func (m *Metrics) Cooldown(deployment string, o router.Outcome) {
	m.cooldowns.WithLabelValues(deployment, ReasonClass(o.Verdict)).Inc()
}

// ReasonClass maps the verdict of an outcome that cools a deployment down
// to a label value.
func ReasonClass(v router.Verdict) string {
	switch v {
	case router.RateLimited:
		return ReasonRateLimited
	case router.QuotaExhausted:
		return ReasonQuota
	case router.AuthFailed:
		return ReasonAuth
	case router.DeploymentGone:
		return ReasonDeploymentGone
	}
	return ReasonOther
}

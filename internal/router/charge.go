package router

// ChargeTokens counts tokens a long-lived session on p's deployment used
// (a Realtime response) against the deployment's tpm limit, so requests
// that come after it see the deployment as busy as it is. It does nothing
// for a deployment without a tpm limit.
func (r *Router) ChargeTokens(p Pick, used int64) {
	if p.Deployment == nil || p.Config.TPM <= 0 || used <= 0 {
		return
	}
	r.adjust(p.tpmKey, used) // a failure is counted in AdjustFailures
}

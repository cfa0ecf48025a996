package router

// Stick returns a Pick of the deployment with id, whatever its cooldown or
// circuit: a follow-up request that only that deployment can answer (a
// DALL-E 2 job's poll) has nowhere else to go. It reports false when no
// deployment has that id any more. Pass the Pick to Report as usual.
func (r *Router) Stick(id string) (Pick, bool) {
	d, ok := r.table.Load().byID[id]
	if !ok {
		return Pick{}, false
	}
	d.inflight.Add(1)
	d.requests.Add(1)
	return Pick{Deployment: d}, true
}

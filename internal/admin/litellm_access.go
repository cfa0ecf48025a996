package admin

// litellmAccessRoutes are LiteLLM's key and team management routes
// (litellm_keys.go, litellm_teams.go), an operator's job like the native
// team and key routes.
func (h *handler) litellmAccessRoutes() []route {
	return []route{
		{pattern: "POST /key/generate", fn: h.litellmKeyGenerate},
		{pattern: "GET /key/info", fn: h.litellmKeyInfo},
		{pattern: "POST /key/update", fn: h.litellmKeyUpdate},
		{pattern: "POST /key/delete", fn: h.litellmKeyDelete},
		{pattern: "GET /key/list", fn: h.litellmKeyList},
		{pattern: "POST /team/new", fn: h.litellmTeamNew},
		{pattern: "GET /team/info", fn: h.litellmTeamInfo},
		{pattern: "POST /team/update", fn: h.litellmTeamUpdate},
		{pattern: "GET /team/list", fn: h.litellmTeamList},
	}
}

package admin

// litellmAccessRoutes are LiteLLM's key and team management routes
// (litellm_keys.go, litellm_teams.go), an operator's job like the native
// team and key routes.
func (h *handler) litellmAccessRoutes() []route {
	return []route{
		{pattern: "POST /key/generate", fn: h.litellmKeyGenerate, allow: operators},
		{pattern: "GET /key/info", fn: h.litellmKeyInfo, allow: readers},
		{pattern: "POST /key/update", fn: h.litellmKeyUpdate, allow: operators},
		{pattern: "POST /key/delete", fn: h.litellmKeyDelete, allow: operators},
		{pattern: "GET /key/list", fn: h.litellmKeyList, allow: readers},
		{pattern: "POST /team/new", fn: h.litellmTeamNew, allow: operators},
		{pattern: "GET /team/info", fn: h.litellmTeamInfo, allow: readers},
		{pattern: "POST /team/update", fn: h.litellmTeamUpdate, allow: operators},
		{pattern: "GET /team/list", fn: h.litellmTeamList, allow: readers},
		{pattern: "POST /team/delete", fn: h.litellmTeamDelete, allow: operators},
	}
}

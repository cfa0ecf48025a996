package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/store"
)

// LiteLLM's team management routes, over the same teams as
// /admin/v1/teams: team_alias is the team's name. A LiteLLM team has one
// budget (max_budget per budget_duration); a Spillway team has a daily and
// a monthly one, so budget_duration must say which: 1d (or 24h) for the
// day, 1mo (or 30d) for the month.

// litellmTeamLimits are the team limits LiteLLM has and Spillway does not
// enforce.
var litellmTeamLimits = map[string]string{
	"model_max_budget":         "give the team one max_budget",
	"model_rpm_limit":          "use rpm_limit, or a deployment's rpm",
	"model_tpm_limit":          "use tpm_limit, or a deployment's tpm",
	"team_member_budget":       "give each key its own max_budget",
	"team_member_rpm_limit":    "give each key its own rpm_limit",
	"team_member_tpm_limit":    "give each key its own tpm_limit",
	"team_member_key_duration": "give each key its own duration",
	"budget_id":                "set max_budget and budget_duration on the team",
}

// litellmTeamHints say where ignored team fields' meaning lives.
var litellmTeamHints = map[string]string{
	"members":            "a team's members are keys: /key/generate or /key/update with team_id",
	"members_with_roles": "a team's members are keys: /key/generate or /key/update with team_id",
	"admins":             "Spillway's roles are the admin portal's",
	"tags":               "put them in metadata",
	"organization_id":    "Spillway has teams but no organizations",
	"guardrails":         "Spillway runs no guardrails",
}

// litellmTeam is a team as LiteLLM's routes show it. max_budget and
// budget_duration show the monthly budget, else the daily one;
// spillway_budgets shows both.
type litellmTeam struct {
	TeamID           string         `json:"team_id"`
	TeamAlias        string         `json:"team_alias"`
	Models           []string       `json:"models"`
	TPMLimit         *int           `json:"tpm_limit"`
	RPMLimit         *int           `json:"rpm_limit"`
	MaxParallel      *int           `json:"max_parallel_requests"`
	MaxBudget        *float64       `json:"max_budget"`
	BudgetDuration   *string        `json:"budget_duration"`
	BudgetResetAt    *time.Time     `json:"budget_reset_at"`
	Spend            float64        `json:"spend"`
	Metadata         map[string]any `json:"metadata"`
	Blocked          bool           `json:"blocked"`
	MembersWithRoles []any          `json:"members_with_roles"`
	Admins           []string       `json:"admins"`
	Members          []string       `json:"members"`
	Budgets          teamBudgetView `json:"spillway_budgets"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
	Keys             []litellmKey   `json:"keys"`
	Warnings         []string       `json:"spillway_warnings,omitempty"`
}

// litellmTeamOf shows t with its spend in the period of the budget shown
// (this month when it has none).
func litellmTeamOf(t store.Team, spend teamSpend, now time.Time) litellmTeam {
	v := litellmTeam{
		TeamID: t.ID, TeamAlias: t.Name, Models: orEmpty(t.Models),
		TPMLimit: orNil(t.TPM), RPMLimit: orNil(t.RPM), MaxParallel: orNil(t.MaxParallel), Spend: spend.Month, Metadata: t.Metadata,
		MembersWithRoles: []any{}, Admins: []string{}, Members: []string{}, Keys: []litellmKey{},
		Budgets:   teamBudgetView{Daily: t.BudgetDaily, Monthly: t.BudgetMonthly},
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(),
	}
	period, budget := "month", t.BudgetMonthly
	if budget == 0 && t.BudgetDaily > 0 {
		period, budget, v.Spend = "day", t.BudgetDaily, spend.Day
	}
	if budget > 0 {
		_, end := access.PeriodBounds(period, now)
		v.MaxBudget, v.BudgetDuration, v.BudgetResetAt = &budget, litellmDurationOf(period), &end
	}
	if v.Metadata == nil {
		v.Metadata = map[string]any{}
	}
	return v
}

// applyTeam reads a /team/new or /team/update body into t.
func applyTeam(f *litellmFieldSet, t *store.Team) error {
	var s string
	if f.take("team_alias", &s) {
		t.Name = strings.TrimSpace(s)
		f.v.text("team_alias", t.Name, maxText)
	}
	f.models(&t.Models)
	for _, lim := range []struct {
		name string
		dst  *int
	}{{"rpm_limit", &t.RPM}, {"tpm_limit", &t.TPM}, {"max_parallel_requests", &t.MaxParallel}} {
		if f.present(lim.name) {
			n := 0
			f.take(lim.name, &n)
			*lim.dst = n
			f.v.nonNegative(lim.name, int64(n))
		}
	}
	applyTeamBudget(f, t)
	f.metadata(&t.Metadata)
	var blocked bool
	if f.take("blocked", &blocked) && blocked {
		f.v.add("blocked", "Spillway cannot block a team; revoke its keys, or set rpm_limit to 1 and models to a model nobody serves")
	}
	var spend float64
	if f.take("spend", &spend) && spend != 0 {
		f.v.add("spend", "is read from the usage records and cannot be set; leave it out")
	}
	f.refuseLimits(litellmTeamLimits)
	f.ignored(litellmTeamHints)
	return f.v.err()
}

// applyTeamBudget maps LiteLLM's one budget onto the team's daily or
// monthly budget. budget_duration says which; alone, it moves the budget
// the team has to that period. null max_budget removes both.
func applyTeamBudget(f *litellmFieldSet, t *store.Team) {
	hasAmount, hasPeriod := f.present("max_budget"), f.present("budget_duration")
	if !hasAmount && !hasPeriod {
		return
	}
	var amount float64
	amountSet := f.take("max_budget", &amount)
	var dur string
	periodSet := f.take("budget_duration", &dur)
	if hasAmount && !amountSet {
		t.BudgetDaily, t.BudgetMonthly = 0, 0 // max_budget: null
		return
	}
	if !hasAmount {
		amount = max(t.BudgetDaily, t.BudgetMonthly)
		if t.BudgetDaily > 0 && t.BudgetMonthly > 0 {
			f.v.add("budget_duration", "the team has a daily and a monthly budget; send max_budget with budget_duration to say which to change, or use PATCH /admin/v1/teams/%s", t.ID)
			return
		}
	}
	f.v.dollars("max_budget", amount)
	var period string
	switch {
	case periodSet:
		switch strings.TrimSpace(dur) {
		case "1d", "24h":
			period = "day"
		case "1mo":
			period = "month"
		case "30d", "31d":
			period = "month"
			f.warn("budget_duration: %q is applied as the calendar month (UTC), which is how Spillway resets monthly team budgets", dur)
		default:
			f.v.add("budget_duration", "%q: a Spillway team's budget resets every UTC day (1d) or calendar month (1mo or 30d); use one of those", dur)
			return
		}
	case amount == 0:
		t.BudgetDaily, t.BudgetMonthly = 0, 0
		return
	case t.BudgetDaily > 0 && t.BudgetMonthly == 0:
		period = "day"
	case t.BudgetMonthly > 0 && t.BudgetDaily == 0:
		period = "month"
	default:
		f.v.add("budget_duration", "is required with max_budget: a Spillway team's budget resets every UTC day (1d) or calendar month (1mo or 30d); it has no budget that never resets")
		return
	}
	// LiteLLM has one budget: setting it replaces the other period's.
	t.BudgetDaily, t.BudgetMonthly = 0, 0
	if period == "day" {
		t.BudgetDaily = amount
	} else {
		t.BudgetMonthly = amount
	}
}

// litellmTeamNew answers POST /team/new.
func (h *handler) litellmTeamNew(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeLiteLLM(w, r, "invalid_team")
	if err != nil {
		return err
	}
	t := store.Team{ID: newTeamID()}
	var id string
	if f.take("team_id", &id) {
		t.ID = strings.TrimSpace(id)
		if !validID.MatchString(t.ID) {
			f.v.add("team_id", "invalid id %q; use up to 128 letters, digits and . _ : @ -, starting with a letter or digit, or leave it out for a generated one", t.ID)
		}
	}
	if err := applyTeam(f, &t); err != nil {
		return err
	}
	if t.Name == "" {
		t.Name = t.ID
	}
	t, err = h.opts.Store.CreateTeam(r.Context(), t)
	if errors.Is(err, store.ErrConflict) {
		return errTeamExists(t.ID)
	}
	if err != nil {
		return err
	}
	h.accessChanged(r.Context(), "team created", "team", t.ID, "name", t.Name, "api", "litellm")
	v := litellmTeamOf(t, teamSpend{}, h.opts.Now())
	v.Warnings = f.warnings
	writeJSON(w, http.StatusOK, v)
	return nil
}

// litellmTeamUpdate answers POST /team/update: the fields present replace
// the team's.
func (h *handler) litellmTeamUpdate(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeLiteLLM(w, r, "invalid_team")
	if err != nil {
		return err
	}
	var id string
	if !f.take("team_id", &id) || id == "" {
		return errBadRequest("team_id", "invalid_team", "team_id is required; /team/list lists the teams")
	}
	t, err := h.opts.Store.GetTeam(r.Context(), id)
	if err != nil {
		return teamError(err, id)
	}
	if err := applyTeam(f, &t); err != nil {
		return err
	}
	if t.Name == "" {
		t.Name = t.ID
	}
	if t, err = h.opts.Store.UpdateTeam(r.Context(), t); err != nil {
		return teamError(err, id)
	}
	h.accessChanged(r.Context(), "team updated", "team", t.ID, "name", t.Name, "api", "litellm")
	spends, err := h.teamSpends(r.Context())
	if err != nil {
		return err
	}
	v := litellmTeamOf(t, spends[t.ID], h.opts.Now())
	v.Warnings = f.warnings
	writeJSON(w, http.StatusOK, map[string]any{"team_id": t.ID, "data": v})
	return nil
}

// litellmTeamKeys shows a team's keys.
func (h *handler) litellmTeamKeys(ctx context.Context, teamID string, now time.Time) ([]litellmKey, error) {
	keys, err := h.opts.Store.ListKeys(ctx, store.KeyFilter{TeamID: teamID})
	if err != nil {
		return nil, err
	}
	out := make([]litellmKey, 0, len(keys))
	for _, k := range keys {
		v, err := h.litellmKeyOf(ctx, k, now)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// litellmTeamInfo answers GET /team/info?team_id=...
func (h *handler) litellmTeamInfo(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := onlyOnce(q, "team_id"); err != nil {
		return err
	}
	id := q.Get("team_id")
	if id == "" {
		return errBadRequest("team_id", "invalid_parameter", "team_id is required: /team/info?team_id=<id>; /team/list lists the teams")
	}
	t, err := h.opts.Store.GetTeam(r.Context(), id)
	if err != nil {
		return teamError(err, id)
	}
	now := h.opts.Now()
	spends, err := h.teamSpends(r.Context())
	if err != nil {
		return err
	}
	keys, err := h.litellmTeamKeys(r.Context(), id, now)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"team_id": t.ID, "team_info": litellmTeamOf(t, spends[t.ID], now),
		"keys": keys, "team_memberships": []any{},
	})
	return nil
}

// litellmTeamDelete answers POST /team/delete {"team_ids": [...]}. As in
// LiteLLM, a team's keys are deleted with it (the native DELETE
// /admin/v1/teams/{id} keeps them, out of any team). Every team is found
// before anything is deleted.
func (h *handler) litellmTeamDelete(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		TeamIDs []string `json:"team_ids"`
	}
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	if len(b.TeamIDs) == 0 {
		return errBadRequest("team_ids", "invalid_team", `send {"team_ids": ["<team id>", ...]}; /team/list lists the teams`)
	}
	for _, id := range b.TeamIDs {
		_, err := h.opts.Store.GetTeam(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			return errNoSuchTeams(id)
		}
		if err != nil {
			return err
		}
	}
	deleted := []string{}
	// One reload for the whole request, even one that fails half way:
	// each reload re-reads every key, event and team.
	changed := false
	defer func() {
		if changed {
			h.accessChanged(r.Context(), "teams deleted", "teams", deleted, "api", "litellm")
		}
	}()
	for _, id := range b.TeamIDs {
		keys, err := h.opts.Store.ListKeys(r.Context(), store.KeyFilter{TeamID: id})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := h.opts.Store.DeleteKey(r.Context(), k.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			changed = true
			h.log.InfoContext(r.Context(), "key deleted", "key", k.ID, "team", id, "api", "litellm")
		}
		err = h.opts.Store.DeleteTeam(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			continue // named twice, or deleted meanwhile: gone either way
		}
		if err != nil {
			return err
		}
		deleted = append(deleted, id)
		h.log.InfoContext(r.Context(), "team deleted", "team", id, "keys", len(keys), "api", "litellm")
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted_teams": deleted})
	return nil
}

// errNoSuchTeams answers /team/delete naming a team that does not exist.
func errNoSuchTeams(id string) error {
	e := errNoSuch("team", id)
	e.Param = "team_ids"
	e.Message += "; nothing was deleted"
	return e
}

// litellmTeamListItem is a team as /team/list shows it.
type litellmTeamListItem struct {
	litellmTeam
	TeamMemberships []any `json:"team_memberships"`
}

// litellmTeamList answers GET /team/list: every team with its keys, as a
// JSON array ordered by team_alias as LiteLLM orders it. ?user_id= keeps
// the teams with a key that user owns (Spillway's teams have keys, not
// users, as members).
func (h *handler) litellmTeamList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := onlyOnce(q, "user_id", "organization_id"); err != nil {
		return err
	}
	if org := q.Get("organization_id"); org != "" && org != "default_organization" {
		return errBadRequest("organization_id", "invalid_parameter", "Spillway has no organizations; leave organization_id out (or send default_organization) to list every team")
	}
	teams, err := h.opts.Store.ListTeams(r.Context())
	if err != nil {
		return err
	}
	spends, err := h.teamSpends(r.Context())
	if err != nil {
		return err
	}
	now := h.opts.Now()
	user := q.Get("user_id")
	out := make([]litellmTeamListItem, 0, len(teams))
	for _, t := range teams {
		item := litellmTeamListItem{litellmTeam: litellmTeamOf(t, spends[t.ID], now), TeamMemberships: []any{}}
		if item.Keys, err = h.litellmTeamKeys(r.Context(), t.ID, now); err != nil {
			return err
		}
		if user != "" && !slices.ContainsFunc(item.Keys, func(k litellmKey) bool { return k.UserID != nil && *k.UserID == user }) {
			continue
		}
		out = append(out, item)
	}
	slices.SortStableFunc(out, func(a, b litellmTeamListItem) int { return strings.Compare(a.TeamAlias, b.TeamAlias) })
	writeJSON(w, http.StatusOK, out)
	return nil
}

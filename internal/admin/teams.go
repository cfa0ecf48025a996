package admin

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/store"
)

// Teams: /admin/v1/teams. A team groups keys that share an allow-list, an
// rpm and a tpm limit, and a daily and a monthly budget in US dollars;
// each key's own limits still apply on top (docs/teams.md).

// teamRoutes are the native team routes. Managing teams is an operator's
// job (DESIGN.md roles): the routes are listed together so a role can be
// declared for all of them at once.
func (h *handler) teamRoutes() []route {
	return []route{
		{pattern: "GET /admin/v1/teams", fn: h.listTeams, allow: readers},
		{pattern: "POST /admin/v1/teams", fn: h.createTeam, allow: operators},
		{pattern: "GET /admin/v1/teams/{id}", fn: h.getTeam, allow: readers},
		{pattern: "PATCH /admin/v1/teams/{id}", fn: h.patchTeam, allow: operators},
		{pattern: "DELETE /admin/v1/teams/{id}", fn: h.deleteTeam, allow: operators},
		{pattern: "GET /admin/v1/teams/{id}/keys", fn: h.listTeamKeys, allow: readers},
		{pattern: "POST /admin/v1/teams/{id}/keys", fn: h.addTeamKey, allow: operators},
		{pattern: "DELETE /admin/v1/teams/{id}/keys/{key_id}", fn: h.removeTeamKey, allow: operators},
	}
}

func newTeamID() string { return randomID("team_") }

// teamBody is a team as POST and PATCH /admin/v1/teams take it. A nil
// field is absent, so PATCH changes only what it names.
type teamBody struct {
	// ID may be chosen at creation ("platform"); else one is generated.
	ID       *string         `json:"id"`
	Name     *string         `json:"name"`
	Models   []string        `json:"models"`
	RPM      *int            `json:"rpm"`
	TPM      *int            `json:"tpm"`
	Budget   *teamBudgetBody `json:"budget"`
	Metadata map[string]any  `json:"metadata"`
	// MaxParallel caps the requests in flight at once of all the team's
	// keys together (all replicas); 0 is no cap.
	MaxParallel *int `json:"max_parallel_requests"`

	// The read-only fields of an answer are accepted and ignored, so a
	// client may GET a team, edit it and send it back.
	Keys      json.RawMessage `json:"keys"`
	Spend     json.RawMessage `json:"spend"`
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
}

// teamBudgetBody is a team's budgets in USD; PATCH changes the ones it
// names.
type teamBudgetBody struct {
	Daily   *float64 `json:"daily"`
	Monthly *float64 `json:"monthly"`
}

// apply sets the fields b holds on t and checks the result, naming every
// problem.
func (b *teamBody) apply(t *store.Team, creating bool) error {
	v := invalid{code: "invalid_team"}
	if b.ID != nil {
		id := strings.TrimSpace(*b.ID)
		switch {
		case !creating && id != t.ID:
			v.add("id", "cannot change (%q in the body, %q in the path)", id, t.ID)
		case creating && !validID.MatchString(id):
			v.add("id", "invalid id %q; use up to 128 letters, digits and . _ : @ -, starting with a letter or digit, or leave it out for a generated one", id)
		case creating:
			t.ID = id
		}
	}
	if b.Name != nil {
		t.Name = strings.TrimSpace(*b.Name)
		v.text("name", t.Name, maxText)
	}
	if b.Models != nil {
		t.Models = v.models("models", b.Models)
	}
	for _, f := range []struct {
		name string
		dst  *int
		src  *int
	}{{"rpm", &t.RPM, b.RPM}, {"tpm", &t.TPM, b.TPM}, {"max_parallel_requests", &t.MaxParallel, b.MaxParallel}} {
		if f.src != nil {
			*f.dst = *f.src
			v.nonNegative(f.name, int64(*f.src))
		}
	}
	if bb := b.Budget; bb != nil {
		for _, f := range []struct {
			name string
			dst  *float64
			src  *float64
		}{{"budget.daily", &t.BudgetDaily, bb.Daily}, {"budget.monthly", &t.BudgetMonthly, bb.Monthly}} {
			if f.src != nil {
				*f.dst = *f.src
				v.dollars(f.name, *f.src)
			}
		}
	}
	if b.Metadata != nil {
		t.Metadata = b.Metadata
		if raw, _ := json.Marshal(b.Metadata); len(raw) > maxMetadata {
			v.add("metadata", "is %d bytes as JSON; the limit is %d", len(raw), maxMetadata)
		}
	}
	return v.err()
}

// dollars checks a budget: 0 is none, and a budget is a finite amount.
func (v *invalid) dollars(field string, x float64) {
	if x < 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		v.add(field, "must be 0 (no budget) or more US dollars, not %v", x)
	}
}

// teamView is a team as the API answers it: its limits, how many keys it
// has, and what they spent today and this month (UTC).
type teamView struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Models   []string       `json:"models"`
	RPM      int            `json:"rpm"`
	TPM      int            `json:"tpm"`
	Budget   teamBudgetView `json:"budget"`
	Metadata map[string]any `json:"metadata"`
	// MaxParallel is the cap on the team's requests in flight; 0 is none.
	MaxParallel int       `json:"max_parallel_requests"`
	Keys        int       `json:"keys"`
	Spend       teamSpend `json:"spend"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type teamBudgetView struct {
	Daily   float64 `json:"daily"`
	Monthly float64 `json:"monthly"`
}

// teamSpend is a team's cost in USD in the current UTC day and month.
type teamSpend struct {
	Day   float64 `json:"day"`
	Month float64 `json:"month"`
}

func viewTeam(t store.Team, keys int, spend teamSpend) teamView {
	v := teamView{
		ID: t.ID, Name: t.Name, Models: orEmpty(t.Models), RPM: t.RPM, TPM: t.TPM,
		Budget:   teamBudgetView{Daily: t.BudgetDaily, Monthly: t.BudgetMonthly},
		Metadata: t.Metadata, MaxParallel: t.MaxParallel, Keys: keys, Spend: spend,
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(),
	}
	if v.Metadata == nil {
		v.Metadata = map[string]any{}
	}
	return v
}

// teamSpends reads every team's spend this day and month: two grouped
// queries, however many teams there are.
func (h *handler) teamSpends(ctx context.Context) (map[string]teamSpend, error) {
	now := h.opts.Now()
	out := map[string]teamSpend{}
	for _, period := range []string{"day", "month"} {
		start, _ := access.PeriodBounds(period, now)
		rows, err := h.opts.Store.QueryUsage(ctx, store.UsageQuery{From: start, GroupBy: store.GroupByTeam})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.Group == "" {
				continue
			}
			s := out[r.Group]
			if period == "day" {
				s.Day = r.Cost
			} else {
				s.Month = r.Cost
			}
			out[r.Group] = s
		}
	}
	return out, nil
}

// teamKeyCounts counts every team's keys in one listing.
func (h *handler) teamKeyCounts(ctx context.Context) (map[string]int, error) {
	keys, err := h.opts.Store.ListKeys(ctx, store.KeyFilter{})
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, k := range keys {
		if k.TeamID != "" {
			counts[k.TeamID]++
		}
	}
	return counts, nil
}

// viewOneTeam is viewTeam with the team's key count and spend read.
func (h *handler) viewOneTeam(ctx context.Context, t store.Team) (teamView, error) {
	keys, err := h.opts.Store.ListKeys(ctx, store.KeyFilter{TeamID: t.ID})
	if err != nil {
		return teamView{}, err
	}
	spends, err := h.teamSpends(ctx)
	if err != nil {
		return teamView{}, err
	}
	return viewTeam(t, len(keys), spends[t.ID]), nil
}

// checkTeam answers 400, naming field, when a key is to join a team that
// does not exist; "" (no team) is always fine.
func (h *handler) checkTeam(ctx context.Context, teamID, field, code string) error {
	if teamID == "" {
		return nil
	}
	_, err := h.opts.Store.GetTeam(ctx, teamID)
	if errors.Is(err, store.ErrNotFound) {
		return errBadRequest(field, code, "%s: no team %q; create it first (POST /admin/v1/teams) or send \"\" for no team", field, teamID)
	}
	return err
}

// keyWriteError answers a failed key write: a team deleted between
// checkTeam and the write is the 400 checkTeam gives, a missing key the
// 404.
func (h *handler) keyWriteError(ctx context.Context, err error, k store.Key, field, code string) error {
	if errors.Is(err, store.ErrNotFound) && k.TeamID != "" {
		if terr := h.checkTeam(ctx, k.TeamID, field, code); terr != nil {
			return terr
		}
	}
	return keyError(err, k.ID)
}

// teamError turns the store's sentinels for a team into answers.
func teamError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuch("team", id)
	}
	return err
}

// errTeamExists refuses a team id that is taken.
func errTeamExists(id string) error {
	e := errBadRequest("id", "team_exists", "team %q already exists; PATCH /admin/v1/teams/%s changes it, or choose another id", id, id)
	e.Status = http.StatusConflict
	return e
}

// listTeams answers GET /admin/v1/teams, ordered by id.
func (h *handler) listTeams(w http.ResponseWriter, r *http.Request) error {
	teams, err := h.opts.Store.ListTeams(r.Context())
	if err != nil {
		return err
	}
	counts, err := h.teamKeyCounts(r.Context())
	if err != nil {
		return err
	}
	spends, err := h.teamSpends(r.Context())
	if err != nil {
		return err
	}
	data := make([]teamView, len(teams))
	for i, t := range teams {
		data[i] = viewTeam(t, counts[t.ID], spends[t.ID])
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

// getTeam answers GET /admin/v1/teams/{id}.
func (h *handler) getTeam(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	t, err := h.opts.Store.GetTeam(r.Context(), id)
	if err != nil {
		return teamError(err, id)
	}
	v, err := h.viewOneTeam(r.Context(), t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// createTeam answers POST /admin/v1/teams. A team without a name is named
// by its id.
func (h *handler) createTeam(w http.ResponseWriter, r *http.Request) error {
	var b teamBody
	if err := decodeStrict(w, r, &b, "GET /admin/v1/teams shows the fields a team has"); err != nil {
		return err
	}
	t := store.Team{ID: newTeamID()}
	if err := b.apply(&t, true); err != nil {
		return err
	}
	if t.Name == "" {
		t.Name = t.ID
	}
	t, err := h.opts.Store.CreateTeam(r.Context(), t)
	if errors.Is(err, store.ErrConflict) {
		return errTeamExists(t.ID)
	}
	if err != nil {
		return err
	}
	h.accessChanged(r.Context(), "team created", "team", t.ID, "name", t.Name)
	writeJSON(w, http.StatusCreated, viewTeam(t, 0, teamSpend{}))
	return nil
}

// patchTeam answers PATCH /admin/v1/teams/{id}.
func (h *handler) patchTeam(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var b teamBody
	if err := decodeStrict(w, r, &b, "GET /admin/v1/teams shows the fields a team has"); err != nil {
		return err
	}
	t, err := h.opts.Store.GetTeam(r.Context(), id)
	if err != nil {
		return teamError(err, id)
	}
	if err := b.apply(&t, false); err != nil {
		return err
	}
	if t.Name == "" {
		t.Name = t.ID
	}
	if t, err = h.opts.Store.UpdateTeam(r.Context(), t); err != nil {
		return teamError(err, id)
	}
	h.accessChanged(r.Context(), "team updated", "team", t.ID, "name", t.Name)
	v, err := h.viewOneTeam(r.Context(), t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deleteTeam answers DELETE /admin/v1/teams/{id} with 204. Its keys stay,
// out of any team, with their own limits.
func (h *handler) deleteTeam(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := h.opts.Store.DeleteTeam(r.Context(), id); err != nil {
		return teamError(err, id)
	}
	h.accessChanged(r.Context(), "team deleted", "team", id)
	writeNoContent(w)
	return nil
}

// listTeamKeys answers GET /admin/v1/teams/{id}/keys.
func (h *handler) listTeamKeys(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := h.opts.Store.GetTeam(r.Context(), id); err != nil {
		return teamError(err, id)
	}
	keys, err := h.opts.Store.ListKeys(r.Context(), store.KeyFilter{TeamID: id})
	if err != nil {
		return err
	}
	now := h.opts.Now()
	data := make([]keyView, len(keys))
	for i, k := range keys {
		data[i] = viewKey(k, now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

// teamKeyBody is what POST /admin/v1/teams/{id}/keys takes.
type teamKeyBody struct {
	KeyID *string `json:"key_id"`
}

// addTeamKey answers POST /admin/v1/teams/{id}/keys: the key joins the
// team, leaving the team it was in, and the answer is the key.
func (h *handler) addTeamKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var b teamKeyBody
	if err := decodeStrict(w, r, &b, `send {"key_id": "<key id>"}`); err != nil {
		return err
	}
	if b.KeyID == nil || strings.TrimSpace(*b.KeyID) == "" {
		return errBadRequest("key_id", "invalid_team", `key_id is required: send {"key_id": "<key id>"}; GET /admin/v1/keys lists the keys`)
	}
	keyID := strings.TrimSpace(*b.KeyID)
	if _, err := h.opts.Store.GetTeam(r.Context(), id); err != nil {
		return teamError(err, id)
	}
	k, err := h.opts.Store.SetKeyTeam(r.Context(), keyID, id)
	if errors.Is(err, store.ErrNotFound) {
		// The team was there a moment ago; the key is the likelier miss.
		if _, kerr := h.opts.Store.GetKey(r.Context(), keyID); kerr != nil {
			e := errNoSuch("key", keyID)
			e.Param = "key_id"
			return e
		}
		return errNoSuch("team", id)
	}
	if err != nil {
		return err
	}
	h.accessChanged(r.Context(), "key added to team", "team", id, "key", keyID)
	writeJSON(w, http.StatusOK, viewKey(k, h.opts.Now()))
	return nil
}

// removeTeamKey answers DELETE /admin/v1/teams/{id}/keys/{key_id} with
// 204: the key leaves the team and keeps working with its own limits. A
// key that is not in this team is a 404, so a stale script cannot take a
// key out of the team it has since moved to.
func (h *handler) removeTeamKey(w http.ResponseWriter, r *http.Request) error {
	id, keyID := r.PathValue("id"), r.PathValue("key_id")
	if _, err := h.opts.Store.GetTeam(r.Context(), id); err != nil {
		return teamError(err, id)
	}
	k, err := h.opts.Store.GetKey(r.Context(), keyID)
	if err != nil {
		return keyError(err, keyID)
	}
	if k.TeamID != id {
		e := errNoSuch("key", keyID)
		e.Message = "key " + keyID + " is not in team " + id + "; GET /admin/v1/teams/" + id + "/keys lists its keys"
		return e
	}
	if _, err := h.opts.Store.SetKeyTeam(r.Context(), keyID, ""); err != nil {
		return keyError(err, keyID)
	}
	h.accessChanged(r.Context(), "key removed from team", "team", id, "key", keyID)
	writeNoContent(w)
	return nil
}

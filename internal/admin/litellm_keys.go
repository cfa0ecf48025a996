package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// LiteLLM's key management routes, over the same keys as /admin/v1/keys:
// key_alias is the key's name, user_id its owner, max_budget and
// budget_duration its cost budget, duration its expiry, blocked its
// revocation. A key is named by the key itself or by its id, which is
// what these routes show as "token" (LiteLLM shows the key's hash there;
// Spillway never shows a hash).

// litellmKeyLimits are the key limits LiteLLM has and Spillway does not
// enforce, with what to do instead.
var litellmKeyLimits = map[string]string{
	"model_max_budget": "give the key one max_budget, or one key per model",
	"model_rpm_limit":  "use rpm_limit, or a deployment's rpm",
	"model_tpm_limit":  "use tpm_limit, or a deployment's tpm",
	"budget_id":        "set max_budget and budget_duration on the key",
}

// litellmKeyHints say where ignored key fields' meaning lives.
var litellmKeyHints = map[string]string{
	"soft_budget":     "Spillway sends no budget alerts; watch GET /admin/v1/usage",
	"tags":            "put them in metadata",
	"aliases":         "model aliases are deployments' model names in Spillway",
	"permissions":     "routes are not restricted per key",
	"guardrails":      "Spillway runs no guardrails",
	"organization_id": "Spillway has teams but no organizations",
}

// litellmKey is a key as LiteLLM's routes show it.
type litellmKey struct {
	Key            string         `json:"key,omitempty"` // only when generated
	Token          string         `json:"token"`
	KeyName        string         `json:"key_name"`
	KeyAlias       *string        `json:"key_alias"`
	Spend          float64        `json:"spend"`
	MaxBudget      *float64       `json:"max_budget"`
	BudgetDuration *string        `json:"budget_duration"`
	BudgetResetAt  *time.Time     `json:"budget_reset_at"`
	Expires        *time.Time     `json:"expires"`
	Models         []string       `json:"models"`
	TPMLimit       *int           `json:"tpm_limit"`
	RPMLimit       *int           `json:"rpm_limit"`
	MaxParallel    *int           `json:"max_parallel_requests"`
	UserID         *string        `json:"user_id"`
	TeamID         *string        `json:"team_id"`
	Metadata       map[string]any `json:"metadata"`
	Blocked        bool           `json:"blocked"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	Warnings       []string       `json:"spillway_warnings,omitempty"`
}

// litellmKeyOf shows k with what it spent in its budget period (all time
// when the budget never resets, as LiteLLM counts spend).
func (h *handler) litellmKeyOf(ctx context.Context, k store.Key, now time.Time) (litellmKey, error) {
	start, end := access.PeriodBounds(k.BudgetPeriod, now)
	rows, err := h.opts.Store.QueryUsage(ctx, store.UsageQuery{From: start, KeyID: k.ID})
	if err != nil {
		return litellmKey{}, err
	}
	var spend float64
	for _, r := range rows {
		spend += r.Cost
	}
	v := litellmKey{
		Token: k.ID, KeyName: k.Prefix + "...", KeyAlias: orNil(k.Name), Spend: spend,
		MaxBudget: orNil(k.BudgetCost), Expires: timeOrNil(k.ExpiresAt), Models: orEmpty(k.Models),
		TPMLimit: orNil(k.TPM), RPMLimit: orNil(k.RPM), MaxParallel: orNil(k.MaxParallel), UserID: orNil(k.Owner), TeamID: orNil(k.TeamID),
		Metadata: k.Metadata, Blocked: !k.RevokedAt.IsZero(),
		CreatedAt: k.CreatedAt.UTC(), UpdatedAt: k.UpdatedAt.UTC(),
	}
	if k.BudgetCost > 0 {
		v.BudgetDuration = litellmDurationOf(k.BudgetPeriod)
		v.BudgetResetAt = timeOrNil(end)
	}
	if v.Metadata == nil {
		v.Metadata = map[string]any{}
	}
	return v, nil
}

// applyKey reads a /key/generate or /key/update body into k.
func (h *handler) applyKey(ctx context.Context, f *litellmFieldSet, k *store.Key, creating bool, now time.Time) error {
	var s string
	if f.present("key_alias") {
		k.Name = "" // null: named by its id
		if f.take("key_alias", &s) {
			k.Name = strings.TrimSpace(s)
			f.v.text("key_alias", k.Name, maxText)
		}
	}
	if f.take("user_id", &s) {
		k.Owner = strings.TrimSpace(s)
		f.v.text("user_id", k.Owner, maxText)
	}
	if f.present("team_id") {
		k.TeamID = ""
		if f.take("team_id", &s) {
			k.TeamID = strings.TrimSpace(s)
		}
	}
	f.models(&k.Models)
	for _, lim := range []struct {
		name string
		dst  *int
	}{{"rpm_limit", &k.RPM}, {"tpm_limit", &k.TPM}, {"max_parallel_requests", &k.MaxParallel}} {
		if f.present(lim.name) {
			n := 0
			f.take(lim.name, &n)
			*lim.dst = n
			f.v.nonNegative(lim.name, int64(n))
		}
	}
	if f.present("max_budget") {
		var b float64
		f.take("max_budget", &b)
		k.BudgetCost = b
		f.v.dollars("max_budget", b)
	}
	if f.present("budget_duration") {
		k.BudgetPeriod = ""
		if f.take("budget_duration", &s) {
			period, approx, ok := budgetPeriodOf(s)
			switch {
			case !ok:
				f.v.add("budget_duration", "%q: Spillway resets budgets every UTC day (1d), ISO week (7d) or calendar month (1mo); use one of those, or null for a budget that never resets", s)
			case approx:
				f.warn("budget_duration: %q is applied as the calendar month (UTC), which is how Spillway resets monthly budgets", s)
			}
			k.BudgetPeriod = period
		}
	}
	if f.present("duration") {
		k.ExpiresAt = time.Time{}
		if f.take("duration", &s) {
			t, ok := parseLiteLLMDuration(s, now)
			if !ok {
				f.v.add("duration", "%q: want a count and a unit, like 30s, 15m, 2h, 30d, 1w or 1mo, up to 100 years, or null for a key that never expires", s)
			}
			k.ExpiresAt = t.UTC()
		}
	}
	f.metadata(&k.Metadata)
	var blocked bool
	if f.take("blocked", &blocked) {
		switch {
		case blocked && k.RevokedAt.IsZero():
			k.RevokedAt = now.UTC()
			f.warn("blocked: the key is revoked, for good: Spillway cannot unblock a key; generate another one instead")
		case !blocked && !k.RevokedAt.IsZero():
			f.v.add("blocked", "the key was revoked at %s and cannot be unblocked; generate another one", k.RevokedAt.Format(time.RFC3339))
		}
	}
	var spend float64
	if f.take("spend", &spend) && spend != 0 {
		f.v.add("spend", "is read from the usage records and cannot be set; leave it out")
	}
	if creating {
		if f.has("key") {
			f.v.add("key", "Spillway generates keys and shows them once; leave it out")
		}
		delete(f.raw, "key")
	}
	f.refuseLimits(litellmKeyLimits)
	f.ignored(litellmKeyHints)
	if err := f.v.err(); err != nil {
		return err
	}
	return h.checkTeam(ctx, k.TeamID, "team_id", f.v.code)
}

// resolveKey finds a key by id, or by the key itself.
func (h *handler) resolveKey(ctx context.Context, ref string) (store.Key, error) {
	k, err := h.opts.Store.GetKey(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		hash := auth.Hash(ref)
		k, err = h.opts.Store.KeyByHash(ctx, hash[:])
	}
	if errors.Is(err, store.ErrNotFound) {
		// Never the reference itself: it may be a key.
		e := errNoSuch("key", "")
		e.Message = "no such key; send the key (sk-...) or its token from /key/list"
		e.Param = "key"
		return k, e
	}
	return k, err
}

// litellmKeyGenerate answers POST /key/generate.
func (h *handler) litellmKeyGenerate(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeLiteLLM(w, r, "invalid_key")
	if err != nil {
		return err
	}
	now := h.opts.Now()
	k := store.Key{ID: newKeyID()}
	if err := h.applyKey(r.Context(), f, &k, true, now); err != nil {
		return err
	}
	if k.Name == "" {
		k.Name = k.ID
	}
	secret := auth.NewKey()
	hash := auth.Hash(secret)
	k.Hash, k.Prefix = hash[:], auth.DisplayPrefix(secret)
	created, err := h.opts.Store.CreateKey(r.Context(), k)
	if err != nil {
		return h.keyWriteError(r.Context(), err, k, "team_id", "invalid_key")
	}
	k = created
	h.accessChanged(r.Context(), "key created", "key", k.ID, "name", k.Name, "api", "litellm")
	v, err := h.litellmKeyOf(r.Context(), k, now)
	if err != nil {
		return err
	}
	v.Key, v.Warnings = secret, f.warnings
	writeJSON(w, http.StatusOK, v)
	return nil
}

// litellmKeyInfo answers GET /key/info?key=...
func (h *handler) litellmKeyInfo(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := onlyOnce(q, "key"); err != nil {
		return err
	}
	ref := q.Get("key")
	if ref == "" {
		return errBadRequest("key", "invalid_parameter", "key is required: /key/info?key=<the key or its token>")
	}
	k, err := h.resolveKey(r.Context(), ref)
	if err != nil {
		return err
	}
	v, err := h.litellmKeyOf(r.Context(), k, h.opts.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": k.ID, "info": v})
	return nil
}

// litellmKeyUpdate answers POST /key/update: the fields present replace
// the key's.
func (h *handler) litellmKeyUpdate(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeLiteLLM(w, r, "invalid_key")
	if err != nil {
		return err
	}
	var ref string
	if !f.take("key", &ref) || ref == "" {
		return errBadRequest("key", "invalid_key", "key is required: the key (sk-...) or its token from /key/list")
	}
	k, err := h.resolveKey(r.Context(), ref)
	if err != nil {
		return err
	}
	now := h.opts.Now()
	if err := h.applyKey(r.Context(), f, &k, false, now); err != nil {
		return err
	}
	if k.Name == "" {
		k.Name = k.ID
	}
	updated, err := h.opts.Store.UpdateKey(r.Context(), k)
	if err != nil {
		return h.keyWriteError(r.Context(), err, k, "team_id", "invalid_key")
	}
	k = updated
	h.accessChanged(r.Context(), "key updated", "key", k.ID, "name", k.Name, "api", "litellm")
	v, err := h.litellmKeyOf(r.Context(), k, now)
	if err != nil {
		return err
	}
	v.Warnings = f.warnings
	writeJSON(w, http.StatusOK, v)
	return nil
}

// litellmKeyDelete answers POST /key/delete {"keys": [...]} or
// {"key_aliases": [...]}. Every key is found before any is deleted, so a
// typo deletes nothing.
func (h *handler) litellmKeyDelete(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Keys       []string `json:"keys"`
		KeyAliases []string `json:"key_aliases"`
	}
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	if len(b.Keys) == 0 && len(b.KeyAliases) == 0 {
		return errBadRequest("keys", "invalid_key", `send {"keys": ["sk-..." or tokens]} or {"key_aliases": [...]}`)
	}
	var ids []string
	for _, ref := range b.Keys {
		k, err := h.resolveKey(r.Context(), ref)
		if err != nil {
			return err
		}
		ids = append(ids, k.ID)
	}
	if len(b.KeyAliases) > 0 {
		all, err := h.opts.Store.ListKeys(r.Context(), store.KeyFilter{})
		if err != nil {
			return err
		}
		for _, alias := range b.KeyAliases {
			found := false
			for _, k := range all {
				if k.Name == alias {
					ids, found = append(ids, k.ID), true
				}
			}
			if !found {
				return errBadRequest("key_aliases", "key_not_found", "no key has the alias %q; nothing was deleted", alias)
			}
		}
	}
	var deleted []string
	for _, id := range ids {
		err := h.opts.Store.DeleteKey(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			continue // named twice, or deleted meanwhile: gone either way
		}
		if err != nil {
			return err
		}
		deleted = append(deleted, id)
		h.log.InfoContext(r.Context(), "key deleted", "key", id, "api", "litellm")
	}
	if len(deleted) > 0 {
		// One reload for every key deleted: each re-reads all access.
		h.accessChanged(r.Context(), "keys deleted", "keys", len(deleted), "api", "litellm")
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted_keys": orEmpty(deleted)})
	return nil
}

// litellmKeyList answers GET /key/list: tokens (key ids), or with
// return_full_object=true the keys, a page at a time, filtered by
// team_id, key_alias and user_id.
func (h *handler) litellmKeyList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := onlyOnce(q, "page", "size", "team_id", "key_alias", "user_id", "return_full_object"); err != nil {
		return err
	}
	page, size := 1, 10
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &page, 1 << 30}, {"size", &size, 100}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > p.max {
				return errBadRequest(p.name, "invalid_parameter", "%s=%q; want a whole number from 1 to %d", p.name, s, p.max)
			}
			*p.dst = n
		}
	}
	full := q.Get("return_full_object") == "true"
	keys, err := h.opts.Store.ListKeys(r.Context(), store.KeyFilter{TeamID: q.Get("team_id")})
	if err != nil {
		return err
	}
	var kept []store.Key
	for _, k := range keys {
		if (q.Get("key_alias") == "" || k.Name == q.Get("key_alias")) && (q.Get("user_id") == "" || k.Owner == q.Get("user_id")) {
			kept = append(kept, k)
		}
	}
	total := len(kept)
	from := min((page-1)*size, total)
	to := min(from+size, total)
	now := h.opts.Now()
	out := make([]any, 0, to-from)
	for _, k := range kept[from:to] {
		if !full {
			out = append(out, k.ID)
			continue
		}
		v, err := h.litellmKeyOf(r.Context(), k, now)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"keys": out, "total_count": total, "current_page": page, "total_pages": (total + size - 1) / size,
	})
	return nil
}

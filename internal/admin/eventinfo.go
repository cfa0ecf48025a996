package admin

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// POST /api/v1/eventinfo: what the playground needs to know about the key
// it was given, as the seed's playground asks for it.

// eventInfo is the answer. The event fields are empty for a key that is
// not an attendee key.
type eventInfo struct {
	IsAuthorized    bool     `json:"is_authorized"`
	EventID         string   `json:"event_id"`
	EventCode       string   `json:"event_code"`
	Name            string   `json:"name"`
	Description     string   `json:"description"`
	Start           string   `json:"start"`
	End             string   `json:"end"`
	TimeZone        string   `json:"time_zone"`
	MaxTokenCap     int      `json:"max_token_cap"`
	DailyRequestCap int      `json:"daily_request_cap"`
	Models          []string `json:"models"`
	OrganizerName   string   `json:"organizer_name"`
	OrganizerEmail  string   `json:"organizer_email"`
	EventURL        string   `json:"event_url"`
	EventURLText    string   `json:"event_url_text"`
	// Capabilities maps a class (openai-chat, openai-images, ...) to the
	// models of that class the key may use and an active deployment
	// serves.
	Capabilities map[string][]string `json:"capabilities"`
}

func errEventInfoAuth(code, format string, args ...any) *apierror.Error {
	return &apierror.Error{Status: http.StatusUnauthorized, Message: fmt.Sprintf(format, args...), Type: apierror.TypeAuthentication, Code: code}
}

// eventInfo answers POST /api/v1/eventinfo for the key in api-key or
// Authorization: Bearer. A key that does not work gets a 401 saying why:
// unknown, revoked, expired, or its event not running.
func (h *handler) eventInfo(w http.ResponseWriter, r *http.Request) error {
	key, err := auth.KeyFromRequest(r)
	if errors.Is(err, auth.ErrNoKey) || (err == nil && key == "") {
		return errEventInfoAuth("missing_api_key", "no API key: send it as api-key: KEY or Authorization: Bearer KEY")
	}
	if err != nil {
		return errEventInfoAuth("invalid_api_key", "invalid API key: send it as api-key: KEY or Authorization: Bearer KEY")
	}
	ctx := r.Context()
	hash := auth.Hash(key)
	k, err := h.opts.Store.KeyByHash(ctx, hash[:])
	if errors.Is(err, store.ErrNotFound) && h.opts.StaticKeys != nil {
		// A key from the config file: no event, no caps, every model.
		if _, serr := h.opts.StaticKeys.Authenticate(ctx, key); serr == nil {
			k, err = store.Key{Hash: hash[:]}, nil
		}
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && subtle.ConstantTimeCompare(k.Hash, hash[:]) != 1) {
		return errEventInfoAuth("invalid_api_key", "invalid API key")
	}
	if err != nil {
		return err
	}
	now := h.opts.Now()
	switch keyStatus(k, now) {
	case keyRevoked:
		return errEventInfoAuth("api_key_revoked", "this API key was revoked at %s; ask for a new one", k.RevokedAt.UTC().Format(time.RFC3339))
	case keyExpired:
		return errEventInfoAuth("api_key_expired", "this API key expired at %s; ask for a new one", k.ExpiresAt.UTC().Format(time.RFC3339))
	}

	info := eventInfo{IsAuthorized: true, MaxTokenCap: k.MaxTokens, Models: allowed(nil, k.Models)}
	if k.EventID != "" {
		ev, err := h.opts.Store.GetEvent(ctx, k.EventID)
		if errors.Is(err, store.ErrNotFound) {
			return errEventInfoAuth("invalid_api_key", "invalid API key: its event no longer exists")
		}
		if err != nil {
			return err
		}
		if err := eventRunning(ev, now); err != nil {
			return err
		}
		info.EventID, info.EventCode = ev.ID, ev.ID
		info.Name, info.Description = ev.Name, ev.Description
		info.Start, info.End = ev.Start.UTC().Format(time.RFC3339), ev.End.UTC().Format(time.RFC3339)
		info.TimeZone = ev.TimeZone
		info.MaxTokenCap = tighter(ev.MaxTokenCap, k.MaxTokens)
		info.DailyRequestCap = ev.DailyRequestCap
		info.Models = allowed(ev.Models, k.Models)
		info.OrganizerName, info.OrganizerEmail = ev.OrganizerName, ev.OrganizerEmail
		info.EventURL, info.EventURLText = ev.URL, ev.URLText
	}

	if k.TeamID != "" {
		// The team's allow-list narrows the key's, as the gateway does.
		t, err := h.opts.Store.GetTeam(ctx, k.TeamID)
		if errors.Is(err, store.ErrNotFound) {
			return errEventInfoAuth("invalid_api_key", "invalid API key: its team no longer exists")
		}
		if err != nil {
			return err
		}
		info.Models = allowed(t.Models, info.Models)
	}

	all, err := h.entries(ctx)
	if err != nil {
		return err
	}
	info.Capabilities = map[string][]string{}
	var served []string
	for _, e := range all {
		if !e.IsActive() || (info.Models != nil && !slices.Contains(info.Models, e.Model)) {
			continue
		}
		if !slices.Contains(info.Capabilities[e.Class], e.Model) {
			info.Capabilities[e.Class] = append(info.Capabilities[e.Class], e.Model)
		}
		if !slices.Contains(served, e.Model) {
			served = append(served, e.Model)
		}
	}
	for _, models := range info.Capabilities {
		slices.Sort(models)
	}
	if info.Models == nil {
		// No allow-list: the key may use every model there is.
		slices.Sort(served)
		info.Models = served
	}
	info.Models = orEmpty(info.Models)
	writeJSON(w, http.StatusOK, info)
	return nil
}

// eventRunning answers 401 when an attendee key's event is not running:
// switched off, not started, or over. The seed's playground shows the
// message.
func eventRunning(ev store.Event, now time.Time) error {
	loc := eventZone(ev)
	const layout = "2006-01-02 15:04 MST"
	switch {
	case !ev.Active:
		return errEventInfoAuth("event_not_active", "the event %q is not active; ask the organiser", ev.Name)
	case now.Before(ev.Start):
		return errEventInfoAuth("event_not_started", "the event %q starts at %s", ev.Name, ev.Start.In(loc).Format(layout))
	case !now.Before(ev.End):
		return errEventInfoAuth("event_ended", "the event %q ended at %s", ev.Name, ev.End.In(loc).Format(layout))
	}
	return nil
}

// tighter returns the smaller of two caps where 0 means none.
func tighter(a, b int) int {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// allowed combines two allow-lists, where nil or empty allows everything:
// nil when both allow everything, else the models both allow (possibly
// none, as an empty, non-nil list).
func allowed(a, b []string) []string {
	switch {
	case len(a) == 0 && len(b) == 0:
		return nil
	case len(a) == 0:
		return slices.Clone(b)
	case len(b) == 0:
		return slices.Clone(a)
	}
	out := []string{}
	for _, m := range a {
		if slices.Contains(b, m) {
			out = append(out, m)
		}
	}
	return out
}

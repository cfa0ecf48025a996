package admin

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// Attendee keys: one per attendee of an event, derived from the gateway's
// secret, the event, the attendee and a generation, so that issuing it
// again hands out the same key although only its hash is stored. The
// organiser issues them (/admin/v1/events/{id}/attendees) or attendees
// register themselves with the event's shared code (register.go).

// attendeeBody is the body of POST /admin/v1/events/{id}/attendees; email
// is accepted for attendee, as self-registration accepts it.
type attendeeBody struct {
	Attendee string `json:"attendee"`
	Email    string `json:"email"`
}

// attendee returns the attendee the body names, tidied, or a 400.
func (b attendeeBody) attendee() (string, error) {
	a := b.Attendee
	if a == "" {
		a = b.Email
	}
	a = strings.TrimSpace(a)
	if strings.Contains(a, "@") {
		// An email address is one attendee however it is capitalised:
		// Bob@Example.com registering again must get Bob's key back.
		a = strings.ToLower(a)
	}
	v := invalid{code: "invalid_attendee"}
	if a == "" {
		v.add("attendee", "is required: the attendee's email address or name")
	}
	v.text("attendee", a, maxText)
	return a, v.err()
}

// issued is the outcome of attendeeKey.
type issued struct {
	key   string    // the key itself, to hand to the attendee
	rec   store.Key // its stored record
	isNew bool      // the attendee gets a key they did not have before
}

// attendeeKey returns attendee's key for ev, storing it the first time.
// A revoked key is reissued under the next generation when reissue is
// set (the organiser asks), and answered with errKeyRevoked otherwise (the
// attendee asks).
func (h *handler) attendeeKey(ctx context.Context, ev store.Event, attendee string, reissue bool) (issued, error) {
	if len(h.opts.Secret) == 0 {
		return issued{}, errNoSecret
	}
	derive := func(generation int) (string, []byte) {
		key := auth.AttendeeKey(h.opts.Secret, ev.ID, attendee, generation)
		hash := auth.Hash(key)
		return key, hash[:]
	}
	// Two tries: when a concurrent registration of the same attendee
	// stores the key first, the second try finds and returns it.
	for range 2 {
		k, err := h.opts.Store.AttendeeKey(ctx, ev.ID, attendee)
		if errors.Is(err, store.ErrNotFound) {
			key, hash := derive(0)
			k = store.Key{
				ID: newKeyID(), Hash: hash, Prefix: auth.DisplayPrefix(key), Name: attendee,
				EventID: ev.ID, Attendee: attendee,
			}
			k, err = h.opts.Store.CreateKey(ctx, k)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return issued{}, err
			}
			h.accessChanged(ctx, "attendee key issued", "event", ev.ID, "key", k.ID)
			return issued{key: key, rec: k, isNew: true}, nil
		}
		if err != nil {
			return issued{}, err
		}

		if !k.RevokedAt.IsZero() {
			if !reissue {
				return issued{}, errKeyRevoked(ev)
			}
			k.Generation++
			k.RevokedAt = time.Time{}
			key, hash := derive(k.Generation)
			k.Hash, k.Prefix = hash, auth.DisplayPrefix(key)
			if k, err = h.opts.Store.UpdateKey(ctx, k); err != nil {
				return issued{}, err
			}
			h.accessChanged(ctx, "attendee key reissued", "event", ev.ID, "key", k.ID, "generation", k.Generation)
			return issued{key: key, rec: k, isNew: true}, nil
		}

		key, hash := derive(k.Generation)
		if subtle.ConstantTimeCompare(hash, k.Hash) == 1 {
			return issued{key: key, rec: k}, nil
		}
		// The secret changed since the key was issued, so the stored hash
		// is of a key that can no longer be derived. Store the hash of the
		// one that can: it replaces the old key.
		k.Hash, k.Prefix = hash, auth.DisplayPrefix(key)
		if k, err = h.opts.Store.UpdateKey(ctx, k); err != nil {
			return issued{}, err
		}
		h.accessChanged(ctx, "attendee key derived anew: the secret key changed since it was issued", "event", ev.ID, "key", k.ID)
		return issued{key: key, rec: k, isNew: true}, nil
	}
	return issued{}, errors.New("attendee key: stored concurrently, then not found")
}

// issueAttendee answers POST /admin/v1/events/{id}/attendees: 201 with a
// new key, 200 with the key the attendee already has. A revoked key is
// replaced by a new one.
func (h *handler) issueAttendee(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var b attendeeBody
	if err := decodeStrict(w, r, &b, `the body is {"attendee": "bob@example.com"}`); err != nil {
		return err
	}
	attendee, err := b.attendee()
	if err != nil {
		return err
	}
	ev, err := h.opts.Store.GetEvent(r.Context(), id)
	if err != nil {
		return eventError(err, id)
	}
	got, err := h.attendeeKey(r.Context(), ev, attendee, true)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if got.isNew {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{
		"event_id": ev.ID, "attendee": attendee, "key": got.key, "key_id": got.rec.ID,
		"created_at": got.rec.CreatedAt.UTC(),
	})
	return nil
}

// attendeeView is one attendee in GET /admin/v1/events/{id}/attendees.
type attendeeView struct {
	Attendee  string    `json:"attendee"`
	KeyID     string    `json:"key_id"`
	Prefix    string    `json:"prefix"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// listAttendees answers GET /admin/v1/events/{id}/attendees, ordered by
// key id as the store lists them.
func (h *handler) listAttendees(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := h.opts.Store.GetEvent(r.Context(), id); err != nil {
		return eventError(err, id)
	}
	keys, err := h.opts.Store.ListKeys(r.Context(), store.KeyFilter{EventID: id})
	if err != nil {
		return err
	}
	now := h.opts.Now()
	data := make([]attendeeView, len(keys))
	for i, k := range keys {
		data[i] = attendeeView{Attendee: k.Attendee, KeyID: k.ID, Prefix: k.Prefix, Status: keyStatus(k, now), CreatedAt: k.CreatedAt.UTC()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
)

// deploymentBody is a deployment as POST and PATCH /admin/v1/deployments
// take it: the config file's field names. A nil field is absent, so PATCH
// changes only what it names.
type deploymentBody struct {
	ID           *string        `json:"id"`
	Model        *string        `json:"model"`
	Class        *string        `json:"class"`
	Provider     *string        `json:"provider"`
	Endpoint     *string        `json:"endpoint"`
	ResourceName *string        `json:"resource_name"`
	Deployment   *string        `json:"deployment"`
	APIVersion   *string        `json:"api_version"`
	APIKey       *string        `json:"api_key"`
	Priority     *int           `json:"priority"`
	Weight       *int           `json:"weight"`
	RPM          *int           `json:"rpm"`
	TPM          *int           `json:"tpm"`
	Active       *bool          `json:"active"`
	ModelInfo    map[string]any `json:"model_info"`

	// The read-only fields of a response are accepted and ignored, so a
	// client may GET a deployment, edit it and send it back.
	Source    json.RawMessage `json:"source"`
	Origin    json.RawMessage `json:"origin"`
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
}

// apply sets the fields b holds on d. An api_key of "*********", or an
// endpoint with its password masked (what a GET shows), keeps d's;
// os.environ/NAME is read from the environment.
func (b *deploymentBody) apply(d *config.Deployment) []problem {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&d.Model, b.Model)
	set(&d.Class, b.Class)
	set(&d.Provider, b.Provider)
	if b.Endpoint != nil && *b.Endpoint != shownURL(d.Endpoint) {
		d.Endpoint = *b.Endpoint
	}
	set(&d.ResourceName, b.ResourceName)
	set(&d.Deployment, b.Deployment)
	set(&d.APIVersion, b.APIVersion)
	for _, f := range []struct {
		dst *int
		src *int
	}{{&d.Priority, b.Priority}, {&d.Weight, b.Weight}, {&d.RPM, b.RPM}, {&d.TPM, b.TPM}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if b.Active != nil {
		active := *b.Active
		d.Active = &active
	}
	if b.ModelInfo != nil {
		d.ModelInfo = b.ModelInfo
	}
	if b.APIKey != nil && *b.APIKey != maskedKey {
		key, p := resolveSecret(*b.APIKey)
		if p != nil {
			return []problem{*p}
		}
		d.APIKey = config.Secret(key)
	}
	return nil
}

// deploymentView is a deployment as the native API returns it: the
// config file's field names, the key masked.
type deploymentView struct {
	ID           string         `json:"id"`
	Model        string         `json:"model"`
	Class        string         `json:"class"`
	Provider     string         `json:"provider"`
	Endpoint     string         `json:"endpoint"`
	ResourceName string         `json:"resource_name"`
	Deployment   string         `json:"deployment"`
	APIVersion   string         `json:"api_version"`
	APIKey       string         `json:"api_key"`
	Priority     int            `json:"priority"`
	Weight       int            `json:"weight"`
	RPM          int            `json:"rpm"`
	TPM          int            `json:"tpm"`
	Active       bool           `json:"active"`
	ModelInfo    map[string]any `json:"model_info"`
	// Source is config (read-only here) or store.
	Source string `json:"source"`
	// Origin is the API that created a stored deployment: native, seed or
	// litellm.
	Origin    string     `json:"origin,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

func view(e entry) deploymentView {
	d := e.Deployment
	v := deploymentView{
		ID: d.ID, Model: d.Model, Class: d.Class, Provider: d.Provider,
		Endpoint: shownURL(d.Endpoint), ResourceName: d.ResourceName, Deployment: d.Deployment,
		APIVersion: d.APIVersion, APIKey: d.APIKey.Redacted(),
		Priority: d.Priority, Weight: d.Weight, RPM: d.RPM, TPM: d.TPM,
		Active: d.IsActive(), ModelInfo: d.ModelInfo, Source: e.source(),
	}
	if v.ModelInfo == nil {
		v.ModelInfo = map[string]any{}
	}
	if s := e.stored; s != nil {
		v.Origin = s.Origin
		v.CreatedAt, v.UpdatedAt = timePtr(s.CreatedAt), timePtr(s.UpdatedAt)
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// listDeployments answers GET /admin/v1/deployments, filtered by
// ?model=, ?class= (any accepted spelling), ?active=true|false and
// ?source=config|store.
func (h *handler) listDeployments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	model, source := q.Get("model"), q.Get("source")
	class := q.Get("class")
	if class != "" {
		c, ok := config.CanonicalClass(class)
		if !ok {
			return errBadRequest("class", "invalid_filter", "unknown class %q; use one of %s", class, strings.Join(config.Classes, ", "))
		}
		class = c
	}
	var active *bool
	if s := q.Get("active"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errBadRequest("active", "invalid_filter", "active=%q; use true or false", s)
		}
		active = &b
	}
	if source != "" && source != sourceConfig && source != sourceStore {
		return errBadRequest("source", "invalid_filter", "source=%q; use config or store", source)
	}
	all, err := h.entries(r.Context())
	if err != nil {
		return err
	}
	data := make([]deploymentView, 0, len(all))
	for _, e := range all {
		switch {
		case model != "" && e.Model != model,
			class != "" && e.Class != class,
			active != nil && e.IsActive() != *active,
			source != "" && e.source() != source:
			continue
		}
		data = append(data, view(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

// getDeployment answers GET /admin/v1/deployments/{id}.
func (h *handler) getDeployment(w http.ResponseWriter, r *http.Request) error {
	e, err := h.find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view(e))
	return nil
}

// createDeployment answers POST /admin/v1/deployments. Without an id, one
// is made up from the model: gpt-4o-3f9a1c.
func (h *handler) createDeployment(w http.ResponseWriter, r *http.Request) error {
	var b deploymentBody
	if err := decode(w, r, &b, true); err != nil {
		return err
	}
	var d config.Deployment
	extra := b.apply(&d)
	if b.ID != nil {
		d.ID = *b.ID
	}
	if d.ID == "" && d.Model != "" {
		d.ID = newID(d.Model)
	}
	if _, ok := h.inConfig(d.ID); ok {
		return errConfigDeployment(d.ID)
	}
	d, err := validate(d, nil, extra...)
	if err != nil {
		return err
	}
	s, err := h.create(r.Context(), d, originNative, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, view(entry{Deployment: ConfigDeployment(s), stored: &s}))
	return nil
}

// patchDeployment answers PATCH /admin/v1/deployments/{id}: the fields
// present replace the stored ones; an absent api_key keeps the stored key.
func (h *handler) patchDeployment(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var b deploymentBody
	if err := decode(w, r, &b, true); err != nil {
		return err
	}
	if b.ID != nil && *b.ID != id {
		return errBadRequest("id", "invalid_deployment", "id cannot change (%q in the body, %q in the path); create a new deployment and delete this one", *b.ID, id)
	}
	prev, err := h.findStored(r.Context(), id)
	if err != nil {
		return err
	}
	d := ConfigDeployment(prev)
	extra := b.apply(&d)
	d, err = validate(d, nil, extra...)
	if err != nil {
		return err
	}
	s, err := h.update(r.Context(), prev, d, nil)
	if err != nil {
		return err
	}
	v := view(entry{Deployment: ConfigDeployment(s), stored: &s})
	if !d.IsActive() {
		if warn := h.objectsOn(r.Context(), id, "they are still reached by their ids while it is inactive, and lost if it is deleted"); warn != nil {
			writeJSON(w, http.StatusOK, struct {
				deploymentView
				Warning *objectsWarning `json:"objects_warning"`
			}{v, warn})
			return nil
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deleteDeployment answers DELETE /admin/v1/deployments/{id}.
func (h *handler) deleteDeployment(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := h.remove(r.Context(), id); err != nil {
		return err
	}
	answer := map[string]any{"id": id, "deleted": true}
	if warn := h.objectsOn(r.Context(), id, "they can no longer be reached, and their ids answer 404 object_deployment_gone"); warn != nil {
		answer["objects_warning"] = warn
	}
	writeJSON(w, http.StatusOK, answer)
	return nil
}

// routing answers GET /admin/v1/routing: each deployment's live state
// (serving, cooling, circuit-open, half-open, inactive), cooldown deadline
// and reason, in-flight count, latency and failures.
func (h *handler) routing(w http.ResponseWriter, r *http.Request) error {
	data := []any{}
	if h.opts.Router != nil {
		for _, s := range h.opts.Router.Status() {
			data = append(data, s)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/store"
)

// Sources of a deployment, as the native API names them.
const (
	sourceConfig = "config"
	sourceStore  = "store"
)

// Origins of a stored deployment: the dialect that created it.
const (
	originNative  = "native"
	originSeed    = "seed"
	originLiteLLM = "litellm"
)

// entry is one deployment as the APIs show it, whichever its source.
type entry struct {
	config.Deployment
	// stored is the store's record; nil for the config file's deployments.
	stored *store.Deployment
}

func (e entry) source() string {
	if e.stored == nil {
		return sourceConfig
	}
	return sourceStore
}

// entries lists every deployment: the config file's in file order, then
// the store's by id.
func (h *handler) entries(ctx context.Context) ([]entry, error) {
	stored, err := h.opts.Store.ListDeployments(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(h.opts.Config)+len(stored))
	for _, d := range h.opts.Config {
		out = append(out, entry{Deployment: d})
	}
	for i := range stored {
		out = append(out, entry{Deployment: ConfigDeployment(stored[i]), stored: &stored[i]})
	}
	return out, nil
}

// inConfig reports whether the config file defines id.
func (h *handler) inConfig(id string) (config.Deployment, bool) {
	for _, d := range h.opts.Config {
		if d.ID == id {
			return d, true
		}
	}
	return config.Deployment{}, false
}

// find returns the deployment with id from either source, or a 404.
func (h *handler) find(ctx context.Context, id string) (entry, error) {
	if d, ok := h.inConfig(id); ok {
		return entry{Deployment: d}, nil
	}
	s, err := h.opts.Store.GetDeployment(ctx, id)
	if err != nil {
		return entry{}, storeError(err, id, nil)
	}
	return entry{Deployment: ConfigDeployment(s), stored: &s}, nil
}

// findStored returns the stored deployment with id, a 409 when the config
// file defines it, or a 404.
func (h *handler) findStored(ctx context.Context, id string) (store.Deployment, error) {
	if _, ok := h.inConfig(id); ok {
		return store.Deployment{}, errConfigDeployment(id)
	}
	s, err := h.opts.Store.GetDeployment(ctx, id)
	if err != nil {
		return store.Deployment{}, storeError(err, id, nil)
	}
	return s, nil
}

// create stores a validated deployment and applies it. names are the
// dialect's, for the error when the store cannot encrypt the key.
func (h *handler) create(ctx context.Context, d config.Deployment, origin string, names fieldNames) (store.Deployment, error) {
	if _, ok := h.inConfig(d.ID); ok {
		return store.Deployment{}, errConfigDeployment(d.ID)
	}
	s, err := h.opts.Store.CreateDeployment(ctx, StoreDeployment(d, origin))
	if err != nil {
		return store.Deployment{}, storeError(err, d.ID, names)
	}
	h.changed(ctx, "created", s)
	return s, nil
}

// update replaces prev with a validated d (same id) and applies it.
func (h *handler) update(ctx context.Context, prev store.Deployment, d config.Deployment, names fieldNames) (store.Deployment, error) {
	next := StoreDeployment(d, prev.Origin)
	next.ID, next.CreatedAt = prev.ID, prev.CreatedAt
	s, err := h.opts.Store.UpdateDeployment(ctx, next)
	if err != nil {
		return store.Deployment{}, storeError(err, prev.ID, names)
	}
	h.changed(ctx, "updated", s)
	return s, nil
}

// remove deletes the stored deployment id and applies it.
func (h *handler) remove(ctx context.Context, id string) error {
	s, err := h.findStored(ctx, id)
	if err != nil {
		return err
	}
	if err := h.opts.Store.DeleteDeployment(ctx, id); err != nil {
		return storeError(err, id, nil)
	}
	h.changed(ctx, "deleted", s)
	return nil
}

// storeError turns the store's sentinels into answers, naming the key's
// field as the dialect does; anything else is internal.
func storeError(err error, id string, names fieldNames) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNoSuch("deployment", id)
	case errors.Is(err, store.ErrConflict):
		return errExists(id)
	case errors.Is(err, store.ErrNoSecretKey):
		return &apierror.Error{Status: http.StatusBadRequest, Message: store.ErrNoSecretKey.Error(), Type: apierror.TypeInvalidRequest, Param: names.name("api_key"), Code: "secret_key_missing"}
	}
	return err
}

// shownURL is how an endpoint appears in responses: a password in it is
// replaced, as url.URL.Redacted does. A client that sends the shown form
// back means "keep the endpoint".
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// resourceName returns the Azure resource a deployment lives on: its
// resource_name, or NAME from an endpoint https://NAME.openai.azure.com
// (or .cognitiveservices.azure.com, .search.windows.net); else the
// endpoint's host.
func resourceName(d config.Deployment) string {
	if d.ResourceName != "" {
		return d.ResourceName
	}
	host := d.BaseURL()
	host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
	host, _, _ = strings.Cut(host, "/")
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:] // never show userinfo
	}
	for _, suffix := range []string{".openai.azure.com", ".cognitiveservices.azure.com", ".search.windows.net"} {
		if name, ok := strings.CutSuffix(strings.ToLower(host), suffix); ok && !strings.Contains(name, ".") {
			return name
		}
	}
	return host
}

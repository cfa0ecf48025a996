package admin

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
)

// The LiteLLM-compatible routes speak LiteLLM's model_list entries:
// model_name is the public model, litellm_params.model is
// "azure/<deployment>" or "openai/<model>" (the provider and the upstream
// name), and model_info.id is the deployment's id. They read entries the
// way the config file reads a LiteLLM model_list, and ignore the many
// litellm_params Spillway has no use for, as LiteLLM's config loader does.

// litellmFields names a deployment's fields where a LiteLLM entry sets
// them, as the config file names them.
var litellmFields = fieldNames(config.LiteLLMFieldPaths)

// litellmBody is a model_list entry as /model/new and /model/update take
// it. A nil field is absent.
type litellmBody struct {
	ModelName     *string        `json:"model_name"`
	LitellmParams *litellmParams `json:"litellm_params"`
	ModelInfo     map[string]any `json:"model_info"`
}

type litellmParams struct {
	Model      *string `json:"model"`
	APIBase    *string `json:"api_base"`
	APIKey     *string `json:"api_key"`
	APIVersion *string `json:"api_version"`
	RPM        *int    `json:"rpm"`
	TPM        *int    `json:"tpm"`
	Order      *int    `json:"order"`
	Priority   *int    `json:"priority"` // read when order is absent
	Weight     *int    `json:"weight"`
}

// litellmModes maps model_info.mode to a class, and back.
var litellmModes = map[string]string{
	"chat":             config.ClassChat,
	"completion":       config.ClassCompletions,
	"embedding":        config.ClassEmbeddings,
	"image_generation": config.ClassImages,
	// LiteLLM also has audio_speech; a deployment of class openai-audio
	// reads back as audio_transcription.
	"audio_transcription": config.ClassAudio,
	"moderation":          config.ClassModerations,
	"realtime":            config.ClassRealtime,
}

// id returns model_info.id, or "".
func (b *litellmBody) id() string {
	if v, ok := b.ModelInfo["id"]; ok && v != nil {
		return fmt.Sprint(v)
	}
	return ""
}

// apply merges b into d (empty for /model/new): the fields b holds replace
// d's, model_info keys are merged. It returns the problems only a LiteLLM
// entry can have, worded as LiteLLM users know them.
func (b *litellmBody) apply(d *config.Deployment) []problem {
	var problems []problem
	if b.ModelName != nil {
		d.Model = *b.ModelName
	}
	var mode string
	if m, ok := b.ModelInfo["mode"].(string); ok {
		mode = m
	}
	if p := b.LitellmParams; p != nil {
		if p.Model != nil {
			prefix, name, ok := strings.Cut(*p.Model, "/")
			if !ok {
				prefix, name = "", *p.Model
			}
			d.Deployment = name
			switch prefix {
			case "", "openai":
				if d.Provider != config.ProviderOpenAICompatible {
					d.Provider = config.ProviderOpenAI
				}
			case "azure":
				d.Provider = config.ProviderAzure
			case "text-completion-openai":
				d.Provider, d.Class = config.ProviderOpenAI, config.ClassCompletions
			case "azure_text":
				d.Provider, d.Class = config.ProviderAzure, config.ClassCompletions
			default:
				d.Provider = prefix
			}
		}
		if p.APIBase != nil && *p.APIBase != shownURL(d.BaseURL()) {
			d.Endpoint, d.ResourceName = *p.APIBase, ""
		}
		if p.APIVersion != nil {
			d.APIVersion = *p.APIVersion
		}
		for _, f := range []struct {
			dst *int
			src *int
		}{{&d.RPM, p.RPM}, {&d.TPM, p.TPM}, {&d.Priority, cmp.Or(p.Order, p.Priority)}, {&d.Weight, p.Weight}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if p.APIKey != nil && *p.APIKey != maskedKey {
			key, bad := resolveSecret(*p.APIKey)
			if bad != nil {
				problems = append(problems, *bad)
			} else {
				d.APIKey = config.Secret(key)
			}
		}
	}
	if d.Deployment == "" {
		problems = append(problems, problem{"deployment", "missing; write azure/<deployment> or openai/<model>"})
	}
	switch {
	case mode != "":
		if c, ok := litellmModes[mode]; ok {
			d.Class = c
		} else {
			d.Class = mode
		}
	case d.Class == "":
		d.Class = classFromNames(d.Deployment + " " + d.Model)
	}
	for k, v := range b.ModelInfo {
		if k == "id" || k == "db_model" || v == nil {
			continue // the id is the deployment's; db_model is computed
		}
		if d.ModelInfo == nil {
			d.ModelInfo = map[string]any{}
		}
		d.ModelInfo[k] = v
	}
	if _, ok := config.CanonicalClass(d.Class); !ok && mode != "" {
		problems = append(problems, problem{"class", fmt.Sprintf("unsupported mode %q; Spillway serves chat, completion, embedding and image_generation", mode)})
	}
	if !isProvider(d.Provider) {
		problems = append(problems, problem{"provider", fmt.Sprintf("unsupported provider %q; Spillway serves azure/<deployment> and openai/<model>", d.Provider)})
	}
	return problems
}

// isProvider reports whether p is a provider; "" is, defaulted later
// from the endpoint.
func isProvider(p string) bool { return p == "" || slices.Contains(config.Providers, p) }

// classFromNames guesses the class of a model without model_info.mode
// from its names, as the config file does for a LiteLLM model_list.
func classFromNames(names string) string {
	names = strings.ToLower(names)
	switch {
	case strings.Contains(names, "embedding"), strings.Contains(names, "ada-002"):
		return config.ClassEmbeddings
	case strings.Contains(names, "dall-e"), strings.Contains(names, "gpt-image"):
		return config.ClassImages
	}
	return config.ClassChat
}

// litellmParamsView is litellm_params as the routes return them: never an
// api_key, nor anything else secret.
type litellmParamsView struct {
	Model      string `json:"model"`
	APIBase    string `json:"api_base,omitempty"`
	APIVersion string `json:"api_version,omitempty"`
	RPM        int    `json:"rpm,omitempty"`
	TPM        int    `json:"tpm,omitempty"`
	Order      int    `json:"order,omitempty"`
	Weight     int    `json:"weight,omitempty"`
}

// litellmParamsOf writes d as LiteLLM would have it in its config.
func litellmParamsOf(d config.Deployment) litellmParamsView {
	prefix := d.Provider
	switch {
	case d.Class == config.ClassCompletions && d.Provider == config.ProviderAzure:
		prefix = "azure_text"
	case d.Class == config.ClassCompletions:
		prefix = "text-completion-openai"
	case d.Provider == config.ProviderOpenAICompatible:
		prefix = "openai"
	}
	v := litellmParamsView{
		Model: prefix + "/" + d.Deployment, APIBase: shownURL(d.BaseURL()), APIVersion: d.APIVersion,
		RPM: d.RPM, TPM: d.TPM,
	}
	if d.Priority != 1 {
		v.Order = d.Priority
	}
	if d.Weight != 1 {
		v.Weight = d.Weight
	}
	return v
}

// litellmRow is LiteLLM's LiteLLM_ProxyModelTable row, which /model/new
// and /model/update return.
type litellmRow struct {
	ModelID       string            `json:"model_id"`
	ModelName     string            `json:"model_name"`
	LitellmParams litellmParamsView `json:"litellm_params"`
	ModelInfo     map[string]any    `json:"model_info"`
	CreatedAt     *time.Time        `json:"created_at,omitempty"`
	CreatedBy     string            `json:"created_by"`
	UpdatedAt     *time.Time        `json:"updated_at,omitempty"`
	UpdatedBy     string            `json:"updated_by"`
}

// litellmAdmin is who LiteLLM records as the author of an admin's change
// (its LITELLM_PROXY_ADMIN_NAME).
const litellmAdmin = "default_user_id"

func litellmRowOf(e entry) litellmRow {
	info := maps.Clone(e.ModelInfo)
	if info == nil {
		info = map[string]any{}
	}
	info["id"] = e.ID
	row := litellmRow{
		ModelID: e.ID, ModelName: e.Model, LitellmParams: litellmParamsOf(e.Deployment),
		ModelInfo: info, CreatedBy: litellmAdmin, UpdatedBy: litellmAdmin,
	}
	if s := e.stored; s != nil {
		row.CreatedAt, row.UpdatedAt = timePtr(s.CreatedAt), timePtr(s.UpdatedAt)
	}
	return row
}

// litellmNew answers POST /model/new. Without model_info.id, an id is
// made up from the model name.
func (h *handler) litellmNew(w http.ResponseWriter, r *http.Request) error {
	var b litellmBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	if b.LitellmParams == nil {
		return errBadRequest("litellm_params", "invalid_deployment", "litellm_params: missing; send at least {\"model\": \"azure/<deployment>\"}")
	}
	var d config.Deployment
	extra := b.apply(&d)
	d.ID = b.id()
	if d.ID == "" && d.Model != "" {
		d.ID = newID(d.Model)
	}
	if _, ok := h.inConfig(d.ID); ok {
		return errConfigDeployment(d.ID)
	}
	d, err := validate(d, litellmFields, extra...)
	if err != nil {
		return err
	}
	s, err := h.create(r.Context(), d, originLiteLLM, litellmFields)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, litellmRowOf(entry{Deployment: ConfigDeployment(s), stored: &s}))
	return nil
}

// litellmUpdate answers POST /model/update: the entry with model_info.id
// takes the fields the body holds; model_info keys are merged, and an
// absent api_key keeps the stored one.
func (h *handler) litellmUpdate(w http.ResponseWriter, r *http.Request) error {
	var b litellmBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	id := b.id()
	if id == "" {
		return errBadRequest("model_info.id", "invalid_deployment", "model_info.id: missing; name the model to update (GET /model/info lists the ids)")
	}
	prev, err := h.findStored(r.Context(), id)
	if err != nil {
		return err
	}
	d := ConfigDeployment(prev)
	d.ModelInfo = maps.Clone(d.ModelInfo)
	extra := b.apply(&d)
	d, err = validate(d, litellmFields, extra...)
	if err != nil {
		return err
	}
	s, err := h.update(r.Context(), prev, d, litellmFields)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, litellmRowOf(entry{Deployment: ConfigDeployment(s), stored: &s}))
	return nil
}

// litellmDelete answers POST /model/delete {"id": ...}.
func (h *handler) litellmDelete(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		ID *string `json:"id"`
	}
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	if b.ID == nil || *b.ID == "" {
		return errBadRequest("id", "invalid_request", "id: missing; send {\"id\": \"<model_info.id>\"}")
	}
	if err := h.remove(r.Context(), *b.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": fmt.Sprintf("Model: %s deleted successfully", *b.ID)})
	return nil
}

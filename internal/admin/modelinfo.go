package admin

import (
	"maps"
	"net/http"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/usage"
)

// litellmModelInfo is one element of LiteLLM's /model/info.
type litellmModelInfo struct {
	ModelName     string            `json:"model_name"`
	LitellmParams litellmParamsView `json:"litellm_params"`
	ModelInfo     map[string]any    `json:"model_info"`
}

// litellmInfo answers GET /model/info and /v1/model/info: every
// deployment, the config file's and the stored ones, optionally only
// ?litellm_model_id=ID as in LiteLLM.
func (h *handler) litellmInfo(w http.ResponseWriter, r *http.Request) error {
	all, err := h.entries(r.Context())
	if err != nil {
		return err
	}
	only := r.URL.Query().Get("litellm_model_id")
	data := make([]litellmModelInfo, 0, len(all))
	for _, e := range all {
		if only != "" && e.ID != only {
			continue
		}
		data = append(data, litellmModelInfo{
			ModelName:     e.Model,
			LitellmParams: litellmParamsOf(e.Deployment),
			ModelInfo:     modelInfo(e),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

// modelInfo is what LiteLLM's /model/info says about a deployment: the
// built-in table's entry for its model (model_info.base_model when given,
// else the upstream name, else the public name), what the deployment
// serves and through whom, then its own model_info, which wins, and
// finally id and db_model (true for stored deployments).
func modelInfo(e entry) map[string]any {
	info := map[string]any{}
	base, _ := e.ModelInfo["base_model"].(string)
	for _, name := range []string{base, e.Deployment.Deployment, e.Model} {
		if name == "" {
			continue
		}
		if p, ok := usage.Lookup(name); ok {
			addPrice(info, name, p)
			break
		}
	}
	if mode := litellmMode(e.Class); mode != "" {
		info["mode"] = mode
	}
	info["litellm_provider"] = litellmProvider(e.Provider)
	maps.Copy(info, e.ModelInfo)
	info["id"] = e.ID
	info["db_model"] = e.stored != nil
	return info
}

// addPrice writes a table entry with LiteLLM's cost map names.
func addPrice(info map[string]any, key string, p usage.Price) {
	info["key"] = key
	if p.MaxInputTokens > 0 {
		info["max_input_tokens"] = p.MaxInputTokens
		info["max_tokens"] = p.MaxInputTokens
	}
	if p.MaxOutputTokens > 0 {
		info["max_output_tokens"] = p.MaxOutputTokens
		info["max_tokens"] = p.MaxOutputTokens // LiteLLM's legacy field: the most an answer holds
	}
	switch {
	case p.Mode == "image_generation":
		info["output_cost_per_image"] = p.CostPerImage
	case p.CostPerSecond > 0:
		info["input_cost_per_second"] = p.CostPerSecond
	default:
		info["input_cost_per_token"] = p.InputCostPerToken
		info["output_cost_per_token"] = p.OutputCostPerToken
	}
	info["mode"] = p.Mode
	info["litellm_provider"] = p.Provider
}

// litellmMode is model_info.mode for a class; "" for classes LiteLLM has
// no mode for.
func litellmMode(class string) string {
	for mode, c := range litellmModes {
		if c == class {
			return mode
		}
	}
	return ""
}

// litellmProvider is litellm_provider for a provider: an OpenAI-compatible
// server is reached as LiteLLM's openai.
func litellmProvider(p string) string {
	if p == config.ProviderOpenAICompatible {
		return config.ProviderOpenAI
	}
	return p
}

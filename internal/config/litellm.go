package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// litellmFile is the part of a LiteLLM proxy config Spillway understands.
// Native settings (listen:, deployments:, ...) may sit beside model_list;
// where both set the same thing, the native setting wins.
type litellmFile struct {
	Native          Config          `yaml:",inline"`
	ModelList       []litellmModel  `yaml:"model_list"`
	GeneralSettings litellmGeneral  `yaml:"general_settings"`
	RouterSettings  litellmRouter   `yaml:"router_settings"`
	LitellmSettings litellmSettings `yaml:"litellm_settings"`
}

type litellmModel struct {
	ModelName     string         `yaml:"model_name"`
	LitellmParams litellmParams  `yaml:"litellm_params"`
	ModelInfo     map[string]any `yaml:"model_info"`
}

type litellmParams struct {
	Model      string `yaml:"model"`
	APIBase    string `yaml:"api_base"`
	APIKey     Secret `yaml:"api_key"`
	APIVersion string `yaml:"api_version"`
	RPM        int    `yaml:"rpm"`
	TPM        int    `yaml:"tpm"`
	Order      int    `yaml:"order"`
	Priority   int    `yaml:"priority"`
	Weight     int    `yaml:"weight"`
}

type litellmGeneral struct {
	MasterKey Secret `yaml:"master_key"`
}

// fallbackList is LiteLLM's [{model: [fallback, ...]}, ...].
type fallbackList []map[string][]string

type litellmRouter struct {
	RoutingStrategy        string       `yaml:"routing_strategy"`
	NumRetries             *int         `yaml:"num_retries"`
	CooldownTime           Duration     `yaml:"cooldown_time"`
	Timeout                Duration     `yaml:"timeout"`
	Fallbacks              fallbackList `yaml:"fallbacks"`
	ContextWindowFallbacks fallbackList `yaml:"context_window_fallbacks"`
}

type litellmSettings struct {
	NumRetries             *int         `yaml:"num_retries"`
	RequestTimeout         Duration     `yaml:"request_timeout"`
	Fallbacks              fallbackList `yaml:"fallbacks"`
	ContextWindowFallbacks fallbackList `yaml:"context_window_fallbacks"`
}

func (litellmFile) lenientYAML()     {}
func (litellmModel) lenientYAML()    {}
func (litellmParams) lenientYAML()   {}
func (litellmGeneral) lenientYAML()  {}
func (litellmRouter) lenientYAML()   {}
func (litellmSettings) lenientYAML() {}

// litellmStrategies maps LiteLLM's routing_strategy to Spillway's; anything
// else routes round-robin.
var litellmStrategies = map[string]string{
	"simple-shuffle":        "random",
	"least-busy":            "least-inflight",
	"latency-based-routing": "lowest-latency",
	"usage-based-routing":   "round-robin",
}

// LiteLLMFieldPaths maps a Deployment field to where a LiteLLM model_list
// entry sets it (model_name, litellm_params.api_base, ...), so that
// Validate, and the management API's LiteLLM-compatible routes, name what
// the user wrote. Callers must not modify it.
var LiteLLMFieldPaths = map[string]string{
	"id":            "model_info.id",
	"model":         "model_name",
	"class":         "model_info.mode",
	"provider":      "litellm_params.model",
	"deployment":    "litellm_params.model",
	"endpoint":      "litellm_params.api_base",
	"resource_name": "litellm_params.api_base",
	"api_version":   "litellm_params.api_version",
	"api_key":       "litellm_params.api_key",
	"priority":      "litellm_params.order",
	"weight":        "litellm_params.weight",
	"rpm":           "litellm_params.rpm",
	"tpm":           "litellm_params.tpm",
}

// litellmEnv returns a lookup that also sees the file's
// environment_variables, which LiteLLM exports at start-up; as in LiteLLM,
// the file's values win.
func litellmEnv(root *yaml.Node, lookup func(string) (string, bool)) func(string) (string, bool) {
	vars := map[string]string{}
	if n := lookupKey(root, "environment_variables"); n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && v.Kind == yaml.ScalarNode && !isNull(v) {
				vars[k.Value] = v.Value
			}
		}
	}
	if len(vars) == 0 {
		return lookup
	}
	return func(name string) (string, bool) {
		if v, ok := vars[name]; ok {
			return v, true
		}
		return lookup(name)
	}
}

// convert turns the LiteLLM settings into native ones. present holds the
// paths set in the file.
func (f *litellmFile) convert(present map[string]bool) *Config {
	c := f.Native
	c.sources = map[string]string{}
	c.retriesSet = present["routing.retries"]

	for j, m := range f.ModelList {
		i := len(c.Deployments)
		c.Deployments = append(c.Deployments, m.deployment())
		c.sources[fmt.Sprintf("deployments[%d]", i)] = fmt.Sprintf("model_list[%d]", j)
	}

	if mk := f.GeneralSettings.MasterKey; mk != "" {
		if c.AdminToken == "" {
			c.AdminToken = mk
			c.sources["admin_token"] = "general_settings.master_key"
		}
		i := len(c.Keys)
		c.Keys = append(c.Keys, Key{Key: mk, Name: "master_key"})
		c.sources[fmt.Sprintf("keys[%d]", i)] = "general_settings.master_key"
		c.sources[fmt.Sprintf("keys[%d].key", i)] = "general_settings.master_key"
	}

	r, s := f.RouterSettings, f.LitellmSettings
	if c.Routing.Strategy == "" && r.RoutingStrategy != "" {
		c.Routing.Strategy = litellmStrategies[r.RoutingStrategy]
		if c.Routing.Strategy == "" {
			c.Routing.Strategy = DefaultStrategy
		}
	}
	if !c.retriesSet {
		for _, n := range []*int{r.NumRetries, s.NumRetries} {
			if n != nil {
				c.Routing.Retries, c.retriesSet = *n, true
				break
			}
		}
	}
	if c.Routing.Cooldown == 0 && r.CooldownTime != 0 {
		c.Routing.Cooldown = r.CooldownTime
		c.sources["routing.cooldown"] = "router_settings.cooldown_time"
	}
	if c.Routing.FirstByteTimeout == 0 {
		switch {
		case r.Timeout != 0:
			c.Routing.FirstByteTimeout = r.Timeout
			c.sources["routing.first_byte_timeout"] = "router_settings.timeout"
		case s.RequestTimeout != 0:
			c.Routing.FirstByteTimeout = s.RequestTimeout
			c.sources["routing.first_byte_timeout"] = "litellm_settings.request_timeout"
		}
	}

	c.addFallbacks(r.Fallbacks, "router_settings.fallbacks", false)
	c.addFallbacks(s.Fallbacks, "litellm_settings.fallbacks", false)
	c.addFallbacks(r.ContextWindowFallbacks, "router_settings.context_window_fallbacks", true)
	c.addFallbacks(s.ContextWindowFallbacks, "litellm_settings.context_window_fallbacks", true)
	return &c
}

// addFallbacks merges LiteLLM's fallbacks into Models, for models that
// have none yet; contextWindow selects ContextWindowFallback, which takes
// the first entry.
func (c *Config) addFallbacks(list fallbackList, from string, contextWindow bool) {
	for i, entry := range list {
		for model, fallbacks := range entry {
			if len(fallbacks) == 0 {
				continue
			}
			if c.Models == nil {
				c.Models = map[string]Model{}
			}
			m := c.Models[model]
			switch {
			case contextWindow && m.ContextWindowFallback == "":
				m.ContextWindowFallback = fallbacks[0]
				c.sources["models."+model+".context_window_fallback"] = fmt.Sprintf("%s[%d].%s[0]", from, i, model)
			case !contextWindow && len(m.Fallbacks) == 0:
				m.Fallbacks = fallbacks
				for j := range fallbacks {
					c.sources[fmt.Sprintf("models.%s.fallbacks[%d]", model, j)] = fmt.Sprintf("%s[%d].%s[%d]", from, i, model, j)
				}
			}
			c.Models[model] = m
		}
	}
}

// deployment converts one model_list entry.
func (m litellmModel) deployment() Deployment {
	p := m.LitellmParams
	d := Deployment{
		Model:      m.ModelName,
		Endpoint:   p.APIBase,
		APIVersion: p.APIVersion,
		APIKey:     p.APIKey,
		RPM:        p.RPM,
		TPM:        p.TPM,
		Priority:   p.Order,
		Weight:     p.Weight,
		ModelInfo:  m.ModelInfo,
	}
	if d.Priority == 0 {
		d.Priority = p.Priority
	}
	prefix, name, ok := strings.Cut(p.Model, "/")
	if !ok {
		prefix, name = "", p.Model
	}
	d.Deployment = name
	switch prefix {
	case "", "openai":
		d.Provider = ProviderOpenAI
	case "azure":
		d.Provider = ProviderAzure
	case "text-completion-openai":
		d.Provider, d.Class = ProviderOpenAI, ClassCompletions
	case "azure_text":
		d.Provider, d.Class = ProviderAzure, ClassCompletions
	default:
		d.Provider = prefix // Validate names it as unsupported
	}
	if id, ok := m.ModelInfo["id"]; ok && id != nil {
		d.ID = fmt.Sprint(id)
	}
	if d.Class == "" {
		mode, _ := m.ModelInfo["mode"].(string)
		d.Class = litellmClass(mode, name+" "+m.ModelName)
	}
	return d
}

// litellmModes maps LiteLLM's model_info.mode to a class.
var litellmModes = map[string]string{
	"chat":             ClassChat,
	"completion":       ClassCompletions,
	"embedding":        ClassEmbeddings,
	"image_generation": ClassImages,
	// LiteLLM's audio and moderation modes.
	"audio_transcription": ClassAudio,
	"audio_speech":        ClassAudio,
	"moderation":          ClassModerations,
	"realtime":            ClassRealtime,
}

// litellmClass derives the class from model_info.mode or, without one,
// from the model's names. A mode Spillway does not serve (rerank,
// audio_transcription, ...) is returned as is, for Validate to report.
func litellmClass(mode, names string) string {
	if c, ok := litellmModes[mode]; ok {
		return c
	}
	if mode != "" {
		return mode
	}
	names = strings.ToLower(names)
	switch {
	case strings.Contains(names, "embedding"), strings.Contains(names, "ada-002"):
		return ClassEmbeddings
	case strings.Contains(names, "dall-e"), strings.Contains(names, "gpt-image"):
		return ClassImages
	}
	return ClassChat
}

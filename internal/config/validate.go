package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// FieldError is one problem with one setting.
type FieldError struct {
	// Path names the setting as written in the file, e.g.
	// deployments[1].class or model_list[0].litellm_params.api_base; empty
	// for a problem with the whole file.
	Path string
	// Msg says what is wrong and, where it can, how to fix it.
	Msg string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Validate returns nil, or an error joining (errors.Join) one *FieldError
// per problem: those Parse found in single settings, then those of the
// whole. Run it on a Config that ApplyDefaults has filled in, as Load and
// Parse leave it. Problems never quote a secret.
func (c *Config) Validate() error {
	v := &validation{c: c, reported: map[string]bool{}}
	for _, p := range c.problems {
		v.errs = append(v.errs, p)
		v.reported[p.Path] = true
	}
	v.server()
	v.keys()
	v.routing()
	v.deployments()
	v.models()
	v.clientAuth()
	v.identity()
	return errors.Join(v.errs...)
}

type validation struct {
	c    *Config
	errs []error
	// reported holds the paths Parse already has a problem for (an unset
	// variable, say), so that "missing" is not said about them again.
	reported map[string]bool
}

// add records a problem with the setting at path, a path in Config that
// sourcePath turns into one in the file.
func (v *validation) add(path, format string, args ...any) {
	path = v.c.sourcePath(path)
	if v.reported[path] {
		return
	}
	v.errs = append(v.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validation) server() {
	c := v.c
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			v.add("listen", "invalid address %q; use host:port such as 127.0.0.1:4000, or :4000 for every interface", c.Listen)
		}
	}
	// Store and Redis URLs may carry a password: name the scheme only.
	if c.Store != "" {
		if s := scheme(c.Store); s != "sqlite" && s != "postgres" && s != "postgresql" {
			v.add("store", "unsupported store %s; use sqlite://PATH or postgres://USER@HOST:PORT/DB", quoteScheme(s))
		}
	}
	if c.Redis != "" {
		if s := scheme(c.Redis); s != "redis" && s != "rediss" {
			v.add("redis", "unsupported URL %s; use redis://HOST:PORT/DB (or rediss:// for TLS)", quoteScheme(s))
		}
	}
	if c.Limits.MaxBodyBytes <= 0 {
		v.add("limits.max_body_bytes", "must be a positive number of bytes (default %d)", DefaultMaxBodyBytes)
	}
	v.duration("limits.shutdown_grace", c.Limits.ShutdownGrace)
	if c.Limits.MaxFileBytes < 0 {
		v.add("limits.max_file_bytes", "must be 0 (OpenAI's 512 MiB) or a positive number of bytes")
	}
	if c.Limits.RealtimeSessionsPerKey < 0 {
		v.add("limits.realtime_sessions_per_key", "must be 0 (no cap) or a positive number of sessions")
	}
	if p := c.Limits.MaxTokensPolicy; p != "" && p != "reject" && p != "clamp" {
		v.add("limits.max_tokens_policy", "unknown policy %q; use reject (default) or clamp", p)
	}
	v.duration("usage.payload_retention", c.Usage.PayloadRetention)
	v.duration("usage.retention", c.Usage.Retention)
	if c.Usage.QueueSize < 0 {
		v.add("usage.queue_size", "must not be negative (default 10000)")
	}
	if r := c.Tracing.SampleRatio; r < 0 || r > 1 {
		v.add("tracing.sample_ratio", "must be between 0 and 1 (a share of traces; 0 keeps all)")
	}
	if e := c.Tracing.Endpoint; e != "" {
		if s := scheme(e); s != "http" && s != "https" {
			v.add("tracing.endpoint", "use an OTLP/HTTP URL such as http://127.0.0.1:4318")
		}
	}
}

func (v *validation) keys() {
	seen := map[Secret]int{}
	for i, k := range v.c.Keys {
		path := fmt.Sprintf("keys[%d].key", i)
		if k.Key == "" {
			v.add(path, "missing; give the key, or os.environ/NAME to read it from the environment")
			continue
		}
		if j, dup := seen[k.Key]; dup {
			v.add(path, "same key as %s", v.c.sourcePath(fmt.Sprintf("keys[%d]", j)))
			continue
		}
		seen[k.Key] = i
	}
}

func (v *validation) routing() {
	r := v.c.Routing
	v.strategy("routing.strategy", r.Strategy)
	v.duration("routing.cooldown", r.Cooldown)
	v.duration("routing.connect_timeout", r.ConnectTimeout)
	v.duration("routing.first_byte_timeout", r.FirstByteTimeout)
	v.duration("routing.idle_timeout", r.IdleTimeout)
	v.duration("routing.circuit_open", r.CircuitOpen)
	v.duration("routing.slow_threshold", r.SlowThreshold)
	if r.SlowFactor < 0 {
		v.add("routing.slow_factor", "must not be negative (default %g)", DefaultSlowFactor)
	}
	if r.FailureThreshold < 0 {
		v.add("routing.failure_threshold", "must not be negative (default %d)", DefaultFailureThreshold)
	}
}

func (v *validation) strategy(path, s string) {
	if s != "" && !slices.Contains(Strategies, s) {
		v.add(path, "unknown strategy %q; use one of %s", s, strings.Join(Strategies, ", "))
	}
}

func (v *validation) duration(path string, d Duration) {
	if d < 0 {
		v.add(path, "must not be negative, got %s", d)
	}
}

// resourceName matches the NAME of https://NAME.openai.azure.com.
var resourceName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)

func (v *validation) deployments() {
	ids := map[string]int{}
	for i, d := range v.c.Deployments {
		at := func(field string) string { return fmt.Sprintf("deployments[%d].%s", i, field) }
		fromLiteLLM := strings.HasPrefix(v.c.sourcePath(fmt.Sprintf("deployments[%d]", i)), "model_list[")

		if d.Model == "" {
			v.add(at("model"), "missing; set the public name clients ask for, e.g. gpt-4o")
		}
		if d.ID != "" {
			if j, dup := ids[d.ID]; dup {
				v.add(at("id"), "duplicate id %q, also used by %s", d.ID, v.c.sourcePath(fmt.Sprintf("deployments[%d]", j)))
			} else {
				ids[d.ID] = i
			}
		}

		class, classOK := CanonicalClass(d.Class)
		switch {
		case classOK:
		case fromLiteLLM:
			v.add(at("class"), "unsupported mode %q; Spillway serves chat, completion, embedding, image_generation, audio_transcription, audio_speech, moderation and realtime", d.Class)
		default:
			v.add(at("class"), "unknown class %q; use one of %s", d.Class, strings.Join(Classes, ", "))
		}
		providerOK := slices.Contains(Providers, d.Provider)
		switch {
		case providerOK:
		case fromLiteLLM:
			v.add(at("provider"), "unsupported provider %q; Spillway serves azure/<deployment> and openai/<model>", d.Provider)
		default:
			v.add(at("provider"), "unknown provider %q; use one of %s", d.Provider, strings.Join(Providers, ", "))
		}
		if providerOK && classOK {
			switch {
			case d.Provider == ProviderAzureSearch && class != ClassSearch:
				v.add(at("provider"), "provider %s serves only class %s, not %s", ProviderAzureSearch, ClassSearch, class)
			case class == ClassSearch && d.Provider != ProviderAzureSearch:
				v.add(at("class"), "class %s needs provider %s, not %s", ClassSearch, ProviderAzureSearch, d.Provider)
			case d.Provider == ProviderAzureAIInference && class != ClassChat && class != ClassEmbeddings:
				v.add(at("class"), "provider %s serves classes %s and %s, not %s", ProviderAzureAIInference, ClassChat, ClassEmbeddings, class)
			case class == ClassModerations && d.Provider == ProviderAzure:
				v.add(at("provider"), "Azure OpenAI has no moderations API; use provider openai or openai-compatible for class %s", ClassModerations)
			}
		}
		v.endpoint(d, at)

		if d.Priority < 0 {
			v.add(at("priority"), "must not be negative; lower tiers are tried first, default 1")
		}
		if d.Weight < 0 {
			v.add(at("weight"), "must not be negative (default 1)")
		}
		if d.RPM < 0 {
			v.add(at("rpm"), "must not be negative; 0 means unlimited")
		}
		if d.TPM < 0 {
			v.add(at("tpm"), "must not be negative; 0 means unlimited")
		}
		v.upstreamAuth(d, at)
	}
}

func (v *validation) endpoint(d Deployment, at func(string) string) {
	switch {
	case d.Endpoint != "" && d.ResourceName != "":
		v.add(at("resource_name"), "set endpoint or resource_name, not both")
	case d.Endpoint != "":
		u, err := url.Parse(d.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			shown := d.Endpoint
			if err == nil {
				shown = u.Redacted()
			}
			v.add(at("endpoint"), "invalid endpoint %q; use an absolute http(s) URL such as https://NAME.openai.azure.com", shown)
		}
	case d.ResourceName != "":
		if !resourceName.MatchString(d.ResourceName) {
			v.add(at("resource_name"), "invalid resource name %q; use the NAME of https://NAME.openai.azure.com, or set endpoint instead", d.ResourceName)
		} else if d.Provider != ProviderAzure && d.Provider != ProviderAzureSearch {
			v.add(at("resource_name"), "resource_name works only with provider azure or azure-ai-search; set endpoint instead")
		}
	default:
		switch d.Provider {
		case ProviderAzure:
			v.add(at("endpoint"), "missing; set endpoint (https://NAME.openai.azure.com) or resource_name (NAME)")
		case ProviderAzureSearch:
			v.add(at("endpoint"), "missing; set endpoint (https://NAME.search.windows.net) or resource_name (NAME)")
		case ProviderOpenAICompatible:
			v.add(at("endpoint"), "missing; an openai-compatible deployment needs its base URL, e.g. http://127.0.0.1:8000/v1")
		case ProviderAzureAIInference:
			v.add(at("endpoint"), "missing; an azure-ai-inference deployment needs its endpoint, e.g. https://NAME.services.ai.azure.com/models")
		}
	}
}

func (v *validation) models() {
	served := map[string]bool{}
	for _, d := range v.c.Deployments {
		served[d.Model] = true
	}
	fallback := func(path, from, to string) {
		switch {
		case to == "":
			v.add(path, "empty model name")
		case to == from:
			v.add(path, "model %q cannot fall back to itself", to)
		case !served[to]:
			v.add(path, "no deployment serves model %q; a fallback must name a model under deployments", to)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(v.c.Models)) {
		m := v.c.Models[name]
		v.strategy("models."+name+".strategy", m.Strategy)
		for i, to := range m.Fallbacks {
			fallback(fmt.Sprintf("models.%s.fallbacks[%d]", name, i), name, to)
		}
		if m.ContextWindowFallback != "" {
			fallback("models."+name+".context_window_fallback", name, m.ContextWindowFallback)
		}
	}
}

// sourcePath turns a path in Config into the path in the file the setting
// came from: itself for a native file, model_list[0].litellm_params.api_base
// for the endpoint of a deployment converted from LiteLLM.
func (c *Config) sourcePath(path string) string {
	if s, ok := c.sources[path]; ok {
		return s
	}
	prefix, field, ok := strings.Cut(path, ".")
	if !ok {
		return path
	}
	s, ok := c.sources[prefix]
	if !ok {
		return path
	}
	if f, ok := LiteLLMFieldPaths[field]; ok && strings.HasPrefix(s, "model_list[") {
		return s + "." + f
	}
	return s
}

func scheme(u string) string {
	s, _, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	return strings.ToLower(s)
}

func quoteScheme(s string) string {
	if s == "" {
		return "(no scheme://)"
	}
	return fmt.Sprintf("scheme %q", s)
}

func (v *validation) upstreamAuth(d Deployment, at func(string) string) {
	if d.APIKey != "" && !httpguts.ValidHeaderFieldValue(d.APIKey.Value()) {
		// Never the key itself. A secret mounted from a file often ends
		// in a newline, which no header may carry: every request to the
		// deployment would fail.
		v.add(at("api_key"), "holds a control character (a trailing newline from a file or a secret?); an HTTP header cannot carry it")
	}
	switch d.Auth {
	case "", AuthAPIKey:
		if d.Entra != nil {
			v.add(at("entra"), "set auth: entra to use it, or remove it")
		}
		return
	case AuthEntra:
	default:
		v.add(at("auth"), "unknown auth %q; use %s (default) or %s", d.Auth, AuthAPIKey, AuthEntra)
		return
	}
	if d.Provider != ProviderAzure && d.Provider != ProviderAzureSearch {
		v.add(at("auth"), "auth: entra works with provider azure or azure-ai-search, not %s", d.Provider)
	}
	if d.APIKey != "" {
		v.add(at("api_key"), "not used with auth: entra; remove it, or use auth: api-key")
	}
	e := Entra{Mode: EntraDefault}
	if d.Entra != nil {
		e = *d.Entra
	}
	switch e.Mode {
	case EntraClientSecret:
		for _, f := range [][2]string{{"tenant_id", e.TenantID}, {"client_id", e.ClientID}, {"client_secret", string(e.ClientSecret)}} {
			if f[1] == "" {
				v.add(at("entra."+f[0]), "missing; mode client-secret needs tenant_id, client_id and client_secret (os.environ/NAME works)")
			}
		}
	case EntraManagedIdentity, EntraWorkloadIdentity, EntraDefault, "":
		if e.ClientSecret != "" {
			v.add(at("entra.client_secret"), "only mode client-secret uses a secret; remove it or set mode: client-secret")
		}
	default:
		v.add(at("entra.mode"), "unknown mode %q; use one of %s", e.Mode, strings.Join(EntraModes, ", "))
	}
	if e.AuthorityHost != "" {
		if u, err := url.Parse(e.AuthorityHost); err != nil || u.Scheme != "https" || u.Host == "" {
			v.add(at("entra.authority_host"), "use an https URL such as https://login.microsoftonline.us/")
		}
	}
}

func (v *validation) clientAuth() {
	e := v.c.ClientAuth.Entra
	if e == nil {
		return
	}
	const p = "client_auth.entra."
	if e.Audience == "" {
		v.add(p+"audience", "missing; set the aud the tokens carry: the gateway app's id URI (api://...) or client id")
	}
	if e.TenantID == "" && len(e.Issuers) == 0 {
		v.add(p+"tenant_id", "missing; set tenant_id, or issuers to accept")
	}
	if e.TenantID == "" && e.JWKSURL == "" {
		v.add(p+"jwks_url", "missing; set jwks_url, or tenant_id to find the signing keys")
	}
	for _, f := range [][2]string{{"jwks_url", e.JWKSURL}, {"authority_host", e.AuthorityHost}} {
		if f[1] == "" {
			continue
		}
		if u, err := url.Parse(f[1]); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.add(p+f[0], "use an absolute https URL")
		}
	}
	if len(e.Map) == 0 {
		v.add(p+"map", "empty; without a mapping no token is accepted: map app_id or group to key_id")
	}
	for i, m := range e.Map {
		at := fmt.Sprintf("%smap[%d]", p, i)
		if (m.AppID == "") == (m.Group == "") {
			v.add(at, "set one of app_id or group")
		}
		if m.KeyID == "" {
			v.add(at+".key_id", "missing; name the key whose permissions the caller gets")
		}
	}
}

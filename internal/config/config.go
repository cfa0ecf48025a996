// Package config holds Spillway's typed configuration: the YAML file (native
// shape or a LiteLLM model_list), environment references such as
// os.environ/NAME, defaults, and Validate, which names every problem with its
// field path. A Config is parsed, validated, then treated as frozen.
package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Config is the whole file. Zero values are replaced by defaults in
// ApplyDefaults; Validate reports what cannot be defaulted.
type Config struct {
	// Listen is the address the gateway serves on. Default 127.0.0.1:4000.
	Listen string `yaml:"listen"`
	// Store is the database URL. Default sqlite://spillway.db.
	Store string `yaml:"store"`
	// Redis is optional; when set, replicas share limits and cooldowns.
	Redis string `yaml:"redis"`
	// AdminToken guards the management API. Empty: generated at first start.
	AdminToken Secret `yaml:"admin_token"`
	// Keys are static client keys.
	Keys []Key `yaml:"keys"`
	// Routing holds gateway-wide routing defaults.
	Routing Routing `yaml:"routing"`
	// Models holds per-model overrides (strategy, fallbacks), by public name.
	Models map[string]Model `yaml:"models"`
	// Deployments are the upstream targets defined in the file.
	Deployments []Deployment `yaml:"deployments"`
	// Limits bound what the gateway accepts from clients.
	Limits Limits `yaml:"limits"`
	// Usage configures usage recording.
	Usage Usage `yaml:"usage"`
	// Tracing configures OpenTelemetry traces; off by default.
	Tracing Tracing `yaml:"tracing"`
	// ClientAuth adds client credentials besides keys (Entra ID tokens).
	ClientAuth ClientAuth `yaml:"client_auth"`
	// Identity lets admins sign in with a company identity (OIDC, GitHub).
	Identity Identity `yaml:"identity"`

	// problems are what Parse found wrong with single fields (unknown keys,
	// values of the wrong type, unset environment variables); Validate
	// reports them with everything else.
	problems []*FieldError
	// retriesSet records that routing.retries (or LiteLLM's num_retries)
	// was present, so that an explicit 0 survives ApplyDefaults.
	retriesSet bool
	// sources maps a path in Config to the path in the file it came from,
	// for settings converted from a LiteLLM file (see sourcePath).
	sources map[string]string
}

// Usage configures how usage records are kept.
type Usage struct {
	// SpillDir holds records the store could not take yet (an outage), to
	// be written when it is back. Default: spillway-usage-spill beside an
	// SQLite store, else in the working directory. Give each replica its
	// own directory.
	SpillDir string `yaml:"spill_dir"`
	// QueueSize is how many records wait in memory for the writer before
	// they go to the spill file. Default 10000. Memory is taken as records
	// wait, not up front.
	QueueSize int `yaml:"queue_size"`
	// LogPayloads stores every request's prompt and answer with its usage
	// record (audit). Off by default; also settable per key.
	LogPayloads bool `yaml:"log_payloads"`
	// PayloadRetention is how long stored prompts and answers are kept.
	// Default 720h (30 days); 0 after defaults is not possible, use a long
	// duration to keep them longer.
	PayloadRetention Duration `yaml:"payload_retention"`
	// Retention is how long raw usage records (one per request) are
	// kept; hourly and daily rollups, which every usage read, budget and
	// report answers from, are kept for good. Default 2160h (90 days).
	// Export (/admin/v1/usage/export) and the partial hours at a usage
	// query's ends need raw records.
	Retention Duration `yaml:"retention"`
}

// Tracing configures OpenTelemetry tracing over OTLP/HTTP.
type Tracing struct {
	// Enabled turns tracing on; so does a non-empty Endpoint. With only
	// Enabled, OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318)
	// is used.
	Enabled bool `yaml:"enabled"`
	// Endpoint is the OTLP/HTTP base URL, e.g. http://127.0.0.1:4318.
	Endpoint string `yaml:"endpoint"`
	// ServiceName defaults to OTEL_SERVICE_NAME, then "spillway".
	ServiceName string `yaml:"service_name"`
	// SampleRatio is the share of traces kept, 0 < r <= 1; 0 means all.
	SampleRatio float64 `yaml:"sample_ratio"`
}

// Key is a static client key from the file.
type Key struct {
	Key  Secret `yaml:"key"`
	Name string `yaml:"name"`
	// LogPayloads stores the prompts and answers of this key's requests
	// with their usage records (audit). Off by default.
	LogPayloads bool `yaml:"log_payloads"`
}

// Routing holds routing defaults for every model.
type Routing struct {
	// Strategy within a priority tier: round-robin (default), weighted,
	// least-inflight, lowest-latency, random.
	Strategy string `yaml:"strategy"`
	// Retries is how many further attempts go to other deployments after the
	// first. Default 2 when absent from the file; an explicit 0 in the file
	// means none (see ApplyDefaults). A negative number also means none.
	Retries int `yaml:"retries"`
	// Cooldown applies when a 429 carries no reset header. Default 30s.
	Cooldown Duration `yaml:"cooldown"`
	// ConnectTimeout bounds dialling an upstream (TCP and TLS). Default 5s.
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// FirstByteTimeout bounds the wait for response headers. Default 60s.
	FirstByteTimeout Duration `yaml:"first_byte_timeout"`
	// IdleTimeout bounds the silence between two chunks of a response body.
	// Default 30s.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// FailureThreshold is how many consecutive failures (5xx, transport
	// errors, 401/403) open a deployment's circuit. Default 5.
	FailureThreshold int `yaml:"failure_threshold"`
	// CircuitOpen is how long an open circuit stays closed to traffic before
	// one probe request is let through. Default 30s.
	CircuitOpen Duration `yaml:"circuit_open"`
	// SlowThreshold: an attempt the client abandons after waiting longer
	// than max(slow_threshold, slow_factor × the deployment's recent time to
	// first byte) for the upstream's headers counts as the deployment's
	// failure, so a hung deployment leaves rotation even when clients give
	// up first. Default 3s; slow_factor default 4.
	SlowThreshold Duration `yaml:"slow_threshold"`
	SlowFactor    float64  `yaml:"slow_factor"`
}

// Model holds overrides for one public model name.
type Model struct {
	// Strategy overrides Routing.Strategy for this model.
	Strategy string `yaml:"strategy"`
	// Fallbacks are other public models tried, in order, when every
	// deployment of this one failed or is unavailable.
	Fallbacks []string `yaml:"fallbacks"`
	// ContextWindowFallback is the model tried when an upstream answers
	// context_length_exceeded.
	ContextWindowFallback string `yaml:"context_window_fallback"`
}

// Limits bound client requests.
type Limits struct {
	// MaxBodyBytes caps a request body. Default 8 MiB; above it, 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ShutdownGrace bounds how long in-flight requests may run after SIGTERM.
	// Default 30s.
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// MaxTokensPolicy is what happens to a request whose max_tokens is
	// above its key's or event's cap: "reject" (default; 400 naming the
	// cap) or "clamp" (lowered to the cap). A request without max_tokens
	// gets the cap either way.
	MaxTokensPolicy string `yaml:"max_tokens_policy"`
	// RealtimeSessionsPerKey caps the Realtime WebSocket sessions one key
	// may hold open at once, across replicas sharing Redis. Default 0:
	// no cap.
	RealtimeSessionsPerKey int `yaml:"realtime_sessions_per_key"`
	// MaxFileBytes caps one file uploaded through POST /v1/files, which is
	// streamed, not held. Default 0: OpenAI's limit, 512 MiB.
	MaxFileBytes int64 `yaml:"max_file_bytes"`
}

// Deployment is one upstream target.
type Deployment struct {
	// ID identifies the deployment; defaults to model + "-" + n, n counting
	// the deployments of that model from 1.
	ID string `yaml:"id"`
	// Model is the public name clients ask for.
	Model string `yaml:"model"`
	// Class is what the deployment serves, e.g. openai-chat.
	Class string `yaml:"class"`
	// Provider is azure, openai, openai-compatible, azure-ai-search or
	// azure-ai-inference.
	// Default: azure-ai-search for class azure-ai-search or a
	// *.search.windows.net endpoint; azure when ResourceName is set or the
	// endpoint is an Azure OpenAI one; otherwise openai.
	Provider string `yaml:"provider"`
	// Endpoint is the base URL. For azure, ResourceName may be given instead;
	// for openai it defaults to https://api.openai.com/v1. See BaseURL.
	Endpoint string `yaml:"endpoint"`
	// ResourceName means https://{resource_name}.openai.azure.com.
	ResourceName string `yaml:"resource_name"`
	// Deployment is the upstream deployment (azure) or model (openai) name.
	// Defaults to Model.
	Deployment string `yaml:"deployment"`
	// APIVersion is the Azure api-version query parameter. Default 2024-10-21.
	APIVersion string `yaml:"api_version"`
	// APIKey authenticates to the upstream; empty means no auth header.
	APIKey Secret `yaml:"api_key"`
	// Auth is how the gateway authenticates to the upstream: api-key (the
	// default, with APIKey) or entra (an Entra ID bearer token, see Entra;
	// providers azure and azure-ai-search only).
	Auth string `yaml:"auth"`
	// Entra configures auth: entra. Default: mode default.
	Entra *Entra `yaml:"entra"`
	// Priority is the tier; lower is tried first. Default 1 (0 means 1).
	Priority int `yaml:"priority"`
	// Weight is used by the weighted strategy. Default 1 (0 means 1).
	Weight int `yaml:"weight"`
	// RPM and TPM are upstream limits per minute; 0 means unlimited.
	RPM int `yaml:"rpm"`
	TPM int `yaml:"tpm"`
	// Active, when explicitly false, keeps the deployment out of routing.
	Active *bool `yaml:"active"`
	// Probe, when explicitly false, keeps the gateway from sending the
	// deployment background probes (a one-token request) to bring it back
	// after its circuit opened; a client request is the probe then.
	Probe *bool `yaml:"probe"`
	// Responses, when explicitly false, keeps an openai-chat deployment out
	// of the Responses API (an upstream that only has chat completions).
	Responses *bool `yaml:"responses"`
	// ModelInfo is free-form metadata (LiteLLM's model_info).
	ModelInfo map[string]any `yaml:"model_info"`
}

// Entra is how a deployment gets Entra ID tokens for its upstream, with
// github.com/Azure/azure-sdk-for-go/sdk/azidentity.
type Entra struct {
	// Mode is managed-identity (system-assigned, or user-assigned with
	// ClientID), workload-identity (Kubernetes; ClientID and TenantID
	// default to AZURE_CLIENT_ID and AZURE_TENANT_ID, the token file to
	// AZURE_FEDERATED_TOKEN_FILE), client-secret (TenantID, ClientID and
	// ClientSecret required) or default (azidentity's DefaultAzureCredential
	// chain: environment, workload identity, managed identity, Azure CLI).
	// Default: default.
	Mode string `yaml:"mode"`
	// ClientID is the application (client) id, or a user-assigned managed
	// identity's client id.
	ClientID string `yaml:"client_id"`
	// TenantID is the directory (tenant) id.
	TenantID string `yaml:"tenant_id"`
	// ClientSecret is the application's secret, for mode client-secret;
	// os.environ/NAME works.
	ClientSecret Secret `yaml:"client_secret"`
	// AuthorityHost is the Entra ID endpoint for sovereign or private
	// clouds (then instance discovery is skipped). Default: azidentity's,
	// https://login.microsoftonline.com/ or AZURE_AUTHORITY_HOST.
	AuthorityHost string `yaml:"authority_host"`
	// Scope is the token's scope. Default:
	// https://cognitiveservices.azure.com/.default for provider azure,
	// https://search.azure.com/.default for azure-ai-search.
	Scope string `yaml:"scope"`
}

// ClientAuth configures ways clients may authenticate besides keys.
type ClientAuth struct {
	// Entra, when set, accepts Entra ID access tokens as client
	// credentials.
	Entra *ClientEntra `yaml:"entra"`
}

// ClientEntra accepts Entra ID access tokens (RS256 JWTs) from clients and
// maps them to keys: the token's app id (appid or azp) or one of its
// groups names the key whose permissions the caller gets.
type ClientEntra struct {
	// TenantID is the directory whose tokens are accepted. It gives the
	// default Issuers and the signing keys' location.
	TenantID string `yaml:"tenant_id"`
	// Audience is the aud the tokens must carry: the gateway's app id URI
	// or client id. Required.
	Audience string `yaml:"audience"`
	// Issuers are the accepted iss values. Default: the tenant's v1 and v2
	// issuers, https://sts.windows.net/{tenant}/ and
	// https://login.microsoftonline.com/{tenant}/v2.0.
	Issuers []string `yaml:"issuers"`
	// JWKSURL is where the signing keys are. Default: the jwks_uri of the
	// tenant's OpenID configuration under AuthorityHost.
	JWKSURL string `yaml:"jwks_url"`
	// AuthorityHost is the Entra ID endpoint. Default
	// https://login.microsoftonline.com/.
	AuthorityHost string `yaml:"authority_host"`
	// Map turns a token into a key, first match wins.
	Map []EntraMapping `yaml:"map"`
}

// EntraMapping maps an app id or a group to a key.
type EntraMapping struct {
	// AppID matches the token's appid (v1) or azp (v2) claim.
	AppID string `yaml:"app_id"`
	// Group matches one of the token's groups (object ids).
	Group string `yaml:"group"`
	// KeyID names the key whose permissions the caller gets: a static key
	// by its name (keys[].name).
	KeyID string `yaml:"key_id"`
}

// ServesResponses reports whether an openai-chat deployment also serves
// the Responses API (the default). Azure AI Inference never does.
func (d Deployment) ServesResponses() bool {
	return (d.Responses == nil || *d.Responses) && d.Provider != ProviderAzureAIInference
}

// Probed reports whether the deployment gets background probes (default).
func (d Deployment) Probed() bool { return d.Probe == nil || *d.Probe }

// IsActive reports whether the deployment takes traffic.
func (d Deployment) IsActive() bool { return d.Active == nil || *d.Active }

// BaseURL returns the deployment's base URL without a trailing slash:
// Endpoint when set, else https://{resource_name}.openai.azure.com (or
// https://{resource_name}.search.windows.net for azure-ai-search), else
// https://api.openai.com/v1 for the openai provider, else "".
func (d Deployment) BaseURL() string {
	switch {
	case d.Endpoint != "":
		return strings.TrimRight(d.Endpoint, "/")
	case d.ResourceName != "" && d.Provider == ProviderAzureSearch:
		return "https://" + d.ResourceName + ".search.windows.net"
	case d.ResourceName != "":
		return "https://" + d.ResourceName + ".openai.azure.com"
	case d.Provider == ProviderOpenAI:
		return DefaultOpenAIEndpoint
	}
	return ""
}

// Secret is a string that never prints itself. Its value is resolved from
// os.environ/NAME or ${NAME} references when the file is loaded.
type Secret string

// Value returns the secret itself, for the one place that sends it.
func (s Secret) Value() string { return string(s) }

// Redacted returns a form safe for logs and API responses.
func (s Secret) Redacted() string {
	if s == "" {
		return ""
	}
	return "*********"
}

// String implements fmt.Stringer so a Secret logged by mistake stays hidden.
func (s Secret) String() string { return s.Redacted() }

// GoString hides the value from %#v as well.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.Redacted()) }

// LogValue hides the value from log/slog, whose JSON handler would
// otherwise print the underlying string.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.Redacted()) }

// MarshalJSON writes the redacted form, so a Secret that ends up in an API
// response or a JSON log stays hidden. Send the value with Value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.Redacted()) }

// MarshalYAML writes the redacted form, for the same reason.
func (s Secret) MarshalYAML() (any, error) { return s.Redacted(), nil }

// Duration is a time.Duration written in YAML as "30s", "1m" or a number of
// seconds.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Defaults, in one place so docs and code agree.
const (
	DefaultListen           = "127.0.0.1:4000"
	DefaultStore            = "sqlite://spillway.db"
	DefaultStrategy         = "round-robin"
	DefaultRetries          = 2
	DefaultCooldown         = 30 * time.Second
	DefaultConnectTimeout   = 5 * time.Second
	DefaultFirstByteTimeout = 60 * time.Second
	DefaultIdleTimeout      = 30 * time.Second
	DefaultFailureThreshold = 5
	DefaultCircuitOpen      = 30 * time.Second
	DefaultSlowThreshold    = 3 * time.Second
	DefaultSlowFactor       = 4.0
	DefaultMaxBodyBytes     = 8 << 20
	DefaultShutdownGrace    = 30 * time.Second
	DefaultAPIVersion       = "2024-10-21"
	DefaultPayloadRetention = 720 * time.Hour
	DefaultUsageRetention   = 2160 * time.Hour
	DefaultOpenAIEndpoint   = "https://api.openai.com/v1"
)

// Classes a deployment may serve.
const (
	ClassChat        = "openai-chat"
	ClassCompletions = "openai-completions"
	ClassEmbeddings  = "openai-embeddings"
	ClassImages      = "openai-images"
	ClassSearch      = "azure-ai-search"
	// ClassAudio serves transcriptions, translations and speech.
	ClassAudio = "openai-audio"
	// ClassModerations serves /v1/moderations (OpenAI deployments).
	ClassModerations = "openai-moderations"
	// ClassRealtime serves the Realtime API's WebSocket sessions.
	ClassRealtime = "openai-realtime"
)

// Providers a deployment may use.
const (
	ProviderAzure            = "azure"
	ProviderOpenAI           = "openai"
	ProviderOpenAICompatible = "openai-compatible"
	ProviderAzureSearch      = "azure-ai-search"
	// ProviderAzureAIInference is Azure AI Inference (Foundry serverless
	// models, Mistral, Llama, ...): {endpoint}/chat/completions and
	// /embeddings, the model in the body.
	ProviderAzureAIInference = "azure-ai-inference"
)

// Upstream authentication of a deployment.
const (
	AuthAPIKey = "api-key"
	AuthEntra  = "entra"
)

// Entra ID credential modes.
const (
	EntraManagedIdentity  = "managed-identity"
	EntraWorkloadIdentity = "workload-identity"
	EntraClientSecret     = "client-secret"
	EntraDefault          = "default"
)

// EntraModes lists the modes, in the order messages name them.
var EntraModes = []string{EntraManagedIdentity, EntraWorkloadIdentity, EntraClientSecret, EntraDefault}

// UsesEntra reports whether the deployment authenticates with Entra ID.
func (d Deployment) UsesEntra() bool { return d.Auth == AuthEntra }

// Strategies a model may route with.
var Strategies = []string{"round-robin", "weighted", "least-inflight", "lowest-latency", "random"}

// Classes lists the canonical classes, in the order messages name them.
var Classes = []string{ClassChat, ClassCompletions, ClassEmbeddings, ClassImages, ClassSearch, ClassAudio, ClassModerations, ClassRealtime}

// Providers lists the providers, in the order messages name them.
var Providers = []string{ProviderAzure, ProviderOpenAI, ProviderOpenAICompatible, ProviderAzureSearch, ProviderAzureAIInference}

// classAliases maps the seed's spellings to the canonical class.
var classAliases = map[string]string{
	ClassChat:                   ClassChat,
	ClassCompletions:            ClassCompletions,
	ClassEmbeddings:             ClassEmbeddings,
	ClassImages:                 ClassImages,
	ClassSearch:                 ClassSearch,
	ClassAudio:                  ClassAudio,
	ClassModerations:            ClassModerations,
	ClassRealtime:               ClassRealtime,
	"openai-whisper":            ClassAudio,
	"openai-tts":                ClassAudio,
	"openai-images-generations": ClassImages,
	"openai-dall-e-2":           ClassImages,
	"openai-dall-e-3":           ClassImages,
	"openai-embedding":          ClassEmbeddings,
	"openai-completion":         ClassCompletions,
}

// CanonicalClass returns the canonical spelling of a class and whether it is
// known.
func CanonicalClass(s string) (string, bool) {
	c, ok := classAliases[s]
	return c, ok
}

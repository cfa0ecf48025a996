package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// azure is a valid deployment to build test files from.
const azure = `
  - model: gpt-4o
    endpoint: https://eastus.openai.azure.com
`

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string // paths
		msg  string   // in the first problem's message
	}{
		{"valid", "deployments:" + azure, nil, ""},
		{"unknown top-level key", "listn: :4000\n", []string{"listn"}, `did you mean "listen"?`},
		{"unknown nested key", "deployments:\n  - model: a\n    endpiont: https://x.openai.azure.com\n    resource_name: x\n",
			[]string{"deployments[0].endpiont"}, `did you mean "endpoint"?`},
		{"unknown key far from any", "routing: {banana: 1}\n", []string{"routing.banana"}, "known fields here: strategy, retries"},
		{"LiteLLM settings without model_list", "router_settings: {}\n", []string{"router_settings"}, "model_list"},
		{"key set twice", "routing:\n  retries: 1\n  retries: 2\n", []string{"routing.retries"}, "set twice, on lines 2 and 3"},
		{"map key set twice", "models:\n  a: {}\n  a: {}\n", []string{"models.a"}, "set twice"},
		{"mapping instead of value", "listen: {a: b}\n", []string{"listen"}, "want a single value, got a mapping"},
		{"value instead of list", "deployments: gpt-4o\n", []string{"deployments"}, `want a list, got the value "gpt-4o"`},
		{"value instead of mapping", "routing: fast\n", []string{"routing"}, "want a mapping"},
		{"not a number", "deployments:\n  - model: a\n    resource_name: x\n    rpm: lots\n", []string{"deployments[0].rpm"}, `invalid number "lots"`},
		{"not a bool", "deployments:\n  - model: a\n    resource_name: x\n    active: maybe\n", []string{"deployments[0].active"}, "use true or false"},
		{"bad duration", "routing: {cooldown: 30 seconds}\n", []string{"routing.cooldown"},
			`invalid duration "30 seconds"; use a Go duration such as 30s or a number of seconds`},
		{"negative duration", "routing: {idle_timeout: -1s}\n", []string{"routing.idle_timeout"}, "must not be negative"},
		{"negative seconds", "limits: {shutdown_grace: -5}\n", []string{"limits.shutdown_grace"}, "must not be negative"},
		{"bad listen", "listen: localhost\n", []string{"listen"}, "use host:port"},
		{"bad store", "store: mysql://root:hunter2@db/x\n", []string{"store"}, `unsupported store scheme "mysql"`},
		{"bad redis", "redis: 127.0.0.1:6379\n", []string{"redis"}, "use redis://"},
		{"missing key", "keys:\n  - name: team-a\n", []string{"keys[0].key"}, "missing"},
		{"duplicate key", "keys:\n  - key: sk-1\n  - key: sk-1\n", []string{"keys[1].key"}, "same key as keys[0]"},
		{"unknown strategy", "routing: {strategy: fastest}\n", []string{"routing.strategy"}, `unknown strategy "fastest"; use one of round-robin, weighted`},
		{"unknown model strategy", "deployments:" + azure + "models:\n  gpt-4o: {strategy: rr}\n", []string{"models.gpt-4o.strategy"}, "unknown strategy"},
		{"negative failure threshold", "routing: {failure_threshold: -1}\n", []string{"routing.failure_threshold"}, "must not be negative"},
		{"max body bytes", "limits: {max_body_bytes: -1}\n", []string{"limits.max_body_bytes"}, "must be a positive number of bytes"},
		{"max file bytes", "limits: {max_file_bytes: -1}\n", []string{"limits.max_file_bytes"}, "must be 0 (OpenAI's 512 MiB) or a positive number"},
		{"realtime sessions per key", "limits: {realtime_sessions_per_key: -1}\n", []string{"limits.realtime_sessions_per_key"}, "must be 0 (no cap) or a positive number of sessions"},
		{"fallback without deployment", "deployments:" + azure + "models:\n  gpt-4o: {fallbacks: [gpt-4o-mini]}\n",
			[]string{"models.gpt-4o.fallbacks[0]"}, `no deployment serves model "gpt-4o-mini"`},
		{"fallback to itself", "deployments:" + azure + "models:\n  gpt-4o: {fallbacks: [gpt-4o]}\n", []string{"models.gpt-4o.fallbacks[0]"}, "itself"},
		{"context window fallback without deployment", "deployments:" + azure + "models:\n  gpt-4o: {context_window_fallback: gpt-4.1}\n",
			[]string{"models.gpt-4o.context_window_fallback"}, `"gpt-4.1"`},
		{"missing model", "deployments:\n  - endpoint: https://x.openai.azure.com\n", []string{"deployments[0].model"}, "missing"},
		{"duplicate id", "deployments:\n  - {id: a, model: m, resource_name: x}\n  - {id: b, model: m, resource_name: x}\n  - {id: a, model: m, resource_name: y}\n",
			[]string{"deployments[2].id"}, `duplicate id "a", also used by deployments[0]`},
		{"unknown class", "deployments:" + azure + "    class: openai-chats\n", []string{"deployments[0].class"},
			`unknown class "openai-chats"; use one of openai-chat, openai-completions, openai-embeddings, openai-images, azure-ai-search, openai-audio, openai-moderations, openai-realtime`},
		{"unknown provider", "deployments:" + azure + "    provider: anthropic\n", []string{"deployments[0].provider"},
			`unknown provider "anthropic"; use one of azure, openai, openai-compatible, azure-ai-search`},
		{"azure without endpoint", "deployments:\n  - {model: m, provider: azure}\n", []string{"deployments[0].endpoint"}, "or resource_name"},
		{"openai-compatible without endpoint", "deployments:\n  - {model: m, provider: openai-compatible}\n", []string{"deployments[0].endpoint"}, "base URL"},
		{"openai without endpoint is fine", "deployments:\n  - {model: m, provider: openai}\n", nil, ""},
		{"relative endpoint", "deployments:\n  - {model: m, endpoint: eastus.openai.azure.com}\n", []string{"deployments[0].endpoint"}, "absolute http(s) URL"},
		{"ftp endpoint", "deployments:\n  - {model: m, endpoint: 'ftp://x'}\n", []string{"deployments[0].endpoint"}, "absolute http(s) URL"},
		{"endpoint and resource name", "deployments:" + azure + "    resource_name: eastus\n", []string{"deployments[0].resource_name"}, "not both"},
		{"resource name is a URL", "deployments:\n  - {model: m, resource_name: 'https://eastus.openai.azure.com'}\n", []string{"deployments[0].resource_name"}, "invalid resource name"},
		{"negative numbers", "deployments:" + azure + "    priority: -1\n    weight: -2\n    rpm: -3\n    tpm: -4\n",
			[]string{"deployments[0].priority", "deployments[0].weight", "deployments[0].rpm", "deployments[0].tpm"}, "must not be negative"},
		{"search provider with chat class", "deployments:\n  - {model: m, provider: azure-ai-search, class: openai-chat, resource_name: s}\n",
			[]string{"deployments[0].provider"}, "serves only class azure-ai-search"},
		{"search class with azure provider", "deployments:\n  - {model: m, provider: azure, class: azure-ai-search, resource_name: s}\n",
			[]string{"deployments[0].class"}, "needs provider azure-ai-search"},
		{"inference provider with images class", "deployments:\n  - {model: m, provider: azure-ai-inference, class: openai-images, endpoint: 'https://x.services.ai.azure.com/models'}\n",
			[]string{"deployments[0].class"}, "serves classes openai-chat and openai-embeddings"},
		{"inference provider without endpoint", "deployments:\n  - {model: m, provider: azure-ai-inference}\n",
			[]string{"deployments[0].endpoint"}, "services.ai.azure.com/models"},
		{"moderations on azure", "deployments:\n  - {model: m, provider: azure, class: openai-moderations, resource_name: s}\n",
			[]string{"deployments[0].provider"}, "no moderations API"},
		{"audio on azure", "deployments:\n  - {model: whisper, provider: azure, class: openai-audio, resource_name: s}\n", nil, ""},
		{"entra managed identity", "deployments:" + azure + "    auth: entra\n    entra: {mode: managed-identity, client_id: 0000}\n", nil, ""},
		{"entra defaults to the default chain", "deployments:" + azure + "    auth: entra\n", nil, ""},
		{"unknown auth", "deployments:" + azure + "    auth: oauth\n", []string{"deployments[0].auth"}, `unknown auth "oauth"; use api-key (default) or entra`},
		{"entra without auth: entra", "deployments:" + azure + "    entra: {mode: managed-identity}\n", []string{"deployments[0].entra"}, "set auth: entra"},
		{"api key ending in a newline", "deployments:" + azure + "    api_key: \"hunter2\\n\"\n", []string{"deployments[0].api_key"}, "holds a control character (a trailing newline"},
		{"api key with a space inside", "deployments:" + azure + "    api_key: \"sk secret\"\n", nil, ""},
		{"entra with an api key", "deployments:" + azure + "    auth: entra\n    api_key: k\n", []string{"deployments[0].api_key"}, "not used with auth: entra"},
		{"entra on openai", "deployments:\n  - {model: m, provider: openai, auth: entra}\n", []string{"deployments[0].auth"}, "provider azure or azure-ai-search, not openai"},
		{"entra unknown mode", "deployments:" + azure + "    auth: entra\n    entra: {mode: cli}\n", []string{"deployments[0].entra.mode"}, `unknown mode "cli"; use one of managed-identity, workload-identity, client-secret, default`},
		{"entra client secret incomplete", "deployments:" + azure + "    auth: entra\n    entra: {mode: client-secret, client_id: c}\n",
			[]string{"deployments[0].entra.tenant_id", "deployments[0].entra.client_secret"}, "needs tenant_id, client_id and client_secret"},
		{"entra secret without client-secret", "deployments:" + azure + "    auth: entra\n    entra: {client_secret: s}\n", []string{"deployments[0].entra.client_secret"}, "only mode client-secret"},
		{"entra http authority", "deployments:" + azure + "    auth: entra\n    entra: {authority_host: 'http://login'}\n", []string{"deployments[0].entra.authority_host"}, "https URL"},
		{"entra unknown field", "deployments:" + azure + "    auth: entra\n    entra: {clientid: c}\n", []string{"deployments[0].entra.clientid"}, `did you mean "client_id"?`},
		{"client entra", "client_auth:\n  entra: {tenant_id: t, audience: api://spillway, map: [{app_id: a, key_id: team-a}, {group: g, key_id: team-b}]}\n", nil, ""},
		{"client entra incomplete", "client_auth:\n  entra: {map: [{app_id: a, group: g}]}\n",
			[]string{"client_auth.entra.audience", "client_auth.entra.tenant_id", "client_auth.entra.jwks_url", "client_auth.entra.map[0]", "client_auth.entra.map[0].key_id"}, "missing"},
		{"client entra without mapping", "client_auth:\n  entra: {tenant_id: t, audience: a}\n", []string{"client_auth.entra.map"}, "no token is accepted"},
		{"search replica: class from the provider", "deployments:\n  - {model: hotels, provider: azure-ai-search, resource_name: s, api_key: k}\n", nil, ""},
		{"search replica: class from the endpoint", "deployments:\n  - {model: hotels, endpoint: 'https://s.search.windows.net', api_key: k}\n", nil, ""},
		{"merge key", "x: &d {model: m, resource_name: r}\ndeployments:\n  - <<: *d\n    id: one\n", []string{"x"}, "unknown field"},
		{"bad merge", "deployments:\n  - <<: [1]\n    model: m\n", []string{"deployments[0].<<"}, "needs a mapping"},
		{"anchor contains itself", "models: &m\n  a:\n    fallbacks: *m\n", []string{"models.a.fallbacks"}, "contains itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.data, nil)
			err := c.Validate()
			if diff := cmp.Diff(tt.want, problemPaths(t, err)); diff != "" {
				t.Errorf("Validate problem paths mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tt.msg != "" && err != nil && !strings.Contains(unjoin(err)[0].Error(), tt.msg) {
				t.Errorf("Validate: %v\nwant a message containing %q", err, tt.msg)
			}
			if strings.Contains(tt.data, "hunter2") && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Validate quotes a password: %v", err)
			}
		})
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c := mustParse(t, `
listen: localhost
keyz: []
routing:
  strategy: fastest
  cooldown: soon
deployments:
  - model: gpt-4o
    class: openai-chats
    endpoint: https://eastus.openai.azure.com
    api_key: os.environ/NOPE
  - model: gpt-4o
    provider: azure
    rpm: many
models:
  gpt-4o:
    fallbacks: [gpt-5]
`, nil)
	want := []string{
		`keyz: unknown field "keyz"; did you mean "keys"?`,
		`routing.cooldown: invalid duration "soon"; use a Go duration such as 30s or a number of seconds`,
		"deployments[0].api_key: environment variable NOPE is not set",
		`deployments[1].rpm: invalid number "many"; use a whole number`,
		`listen: invalid address "localhost"; use host:port such as 127.0.0.1:4000, or :4000 for every interface`,
		`routing.strategy: unknown strategy "fastest"; use one of round-robin, weighted, least-inflight, lowest-latency, random`,
		`deployments[0].class: unknown class "openai-chats"; use one of openai-chat, openai-completions, openai-embeddings, openai-images, azure-ai-search, openai-audio, openai-moderations, openai-realtime`,
		"deployments[1].endpoint: missing; set endpoint (https://NAME.openai.azure.com) or resource_name (NAME)",
		`models.gpt-4o.fallbacks[0]: no deployment serves model "gpt-5"; a fallback must name a model under deployments`,
	}
	var got []string
	for _, e := range unjoin(c.Validate()) {
		got = append(got, e.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate mismatch (-want +got):\n%s", diff)
	}
}

func TestFieldError(t *testing.T) {
	tests := []struct {
		e    FieldError
		want string
	}{
		{FieldError{Path: "deployments[1].class", Msg: `unknown class "x"`}, `deployments[1].class: unknown class "x"`},
		{FieldError{Msg: "whole file"}, "whole file"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestValidateUsageAndTracing(t *testing.T) {
	c, err := Parse([]byte("usage:\n  queue_size: -1\ntracing:\n  endpoint: grpc://collector:4317\n  sample_ratio: 2\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	got := c.Validate()
	for _, want := range []string{"usage.queue_size", "tracing.endpoint", "tracing.sample_ratio"} {
		if got == nil || !strings.Contains(got.Error(), want) {
			t.Errorf("Validate() = %v, want a problem at %s", got, want)
		}
	}
}

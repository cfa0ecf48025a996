package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// env returns a lookup over vars, standing in for os.LookupEnv.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// problemPaths returns the Path of every *FieldError joined in err.
func problemPaths(t *testing.T, err error) []string {
	t.Helper()
	var paths []string
	for _, e := range unjoin(err) {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("problem %v is a %T, want *FieldError", e, e)
		}
		paths = append(paths, fe.Path)
	}
	return paths
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func mustParse(t *testing.T, data string, vars map[string]string) *Config {
	t.Helper()
	c, err := Parse([]byte(data), env(vars))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

var ignoreUnexported = cmpopts.IgnoreUnexported(Config{})

func TestParseNativeExample(t *testing.T) {
	data, err := os.ReadFile("testdata/native.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, string(data), map[string]string{
		"SPILLWAY_ADMIN_TOKEN": "admin-secret",
		"TEAM_A_KEY":           "sk-team-a",
		"AZURE_KEY_EASTUS":     "azure-secret",
	})
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := &Config{
		Listen:     "127.0.0.1:4000",
		Store:      "sqlite://spillway.db",
		Redis:      "redis://127.0.0.1:6379/0",
		AdminToken: "admin-secret",
		Keys:       []Key{{Key: "sk-team-a", Name: "team-a"}},
		Routing: Routing{
			Strategy:         "round-robin",
			Retries:          2,
			Cooldown:         Duration(30 * time.Second),
			ConnectTimeout:   Duration(DefaultConnectTimeout),
			FirstByteTimeout: Duration(DefaultFirstByteTimeout),
			IdleTimeout:      Duration(DefaultIdleTimeout),
			FailureThreshold: DefaultFailureThreshold,
			CircuitOpen:      Duration(DefaultCircuitOpen),
			SlowThreshold:    Duration(DefaultSlowThreshold),
			SlowFactor:       DefaultSlowFactor,
		},
		Deployments: []Deployment{{
			ID:         "gpt4o-eastus",
			Model:      "gpt-4o",
			Class:      ClassChat,
			Provider:   ProviderAzure,
			Endpoint:   "https://eastus.openai.azure.com",
			Deployment: "gpt-4o",
			APIVersion: "2024-10-21",
			APIKey:     "azure-secret",
			Priority:   1,
			Weight:     1,
			RPM:        600,
			TPM:        100000,
		}},
		Limits: Limits{
			MaxBodyBytes:    DefaultMaxBodyBytes,
			ShutdownGrace:   Duration(DefaultShutdownGrace),
			MaxTokensPolicy: "reject",
		},
		Usage: Usage{PayloadRetention: Duration(DefaultPayloadRetention), Retention: Duration(DefaultUsageRetention)},
	}
	if diff := cmp.Diff(want, c, ignoreUnexported); diff != "" {
		t.Errorf("Parse(native.yaml) mismatch (-want +got):\n%s", diff)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, data := range []string{"", "# only a comment\n", "~\n", "---\n"} {
		c := mustParse(t, data, nil)
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%q): %v", data, err)
		}
		if got, want := c.Listen, DefaultListen; got != want {
			t.Errorf("Parse(%q).Listen = %q, want %q", data, got, want)
		}
	}
}

func TestParseFailsOnlyOnUnreadableFiles(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"syntax", "listen: [127.0.0.1\n", "invalid YAML"},
		{"tabs", "routing:\n\tretries: 2\n", "invalid YAML"},
		{"list at top", "- listen: x\n", "must be a mapping"},
		{"scalar at top", "hello\n", "must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data), env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEnvReferences(t *testing.T) {
	vars := map[string]string{
		"KEY":    "sk-from-env",
		"REGION": "eastus",
		"RPM":    "600",
		"EMPTY":  "",
	}
	c := mustParse(t, `
admin_token: ${KEY}
deployments:
  - model: gpt-4o
    endpoint: https://${REGION}.openai.azure.com/${EMPTY}
    api_key: os.environ/KEY
    rpm: ${RPM}
    tpm: "os.environ/RPM"
    deployment: gpt-4o-${REGION}-$HOME-${1}
`, vars)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	d := c.Deployments[0]
	got := []string{c.AdminToken.Value(), d.Endpoint, d.APIKey.Value(), d.Deployment}
	want := []string{"sk-from-env", "https://eastus.openai.azure.com/", "sk-from-env", "gpt-4o-eastus-$HOME-${1}"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved strings mismatch (-want +got):\n%s", diff)
	}
	if d.RPM != 600 || d.TPM != 600 {
		t.Errorf("rpm, tpm = %d, %d, want 600, 600 (numbers from the environment)", d.RPM, d.TPM)
	}
}

func TestEnvKeepsStringsAsWritten(t *testing.T) {
	// Values that YAML would read as numbers, booleans or null stay text
	// when they land in a string field.
	c := mustParse(t, "admin_token: ${T}\nkeys:\n  - key: os.environ/K\n    name: ${N}\n",
		map[string]string{"T": "0123", "K": "null", "N": "true"})
	got := []string{c.AdminToken.Value(), c.Keys[0].Key.Value(), c.Keys[0].Name}
	if want := []string{"0123", "null", "true"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEnvUnsetReportedWithPath(t *testing.T) {
	c := mustParse(t, `
admin_token: os.environ/ADMIN
keys:
  - key: ${TEAM_A}
deployments:
  - model: gpt-4o
    endpoint: https://${REGION}.openai.azure.com
    api_key: os.environ/AZURE_KEY
    rpm: ${RPM}
  - model: gpt-4o
    endpoint: https://x.openai.azure.com
    api_key: os.environ/not-a-name
`, map[string]string{"REGION": "eastus"})
	err := c.Validate()
	want := []string{
		"admin_token: environment variable ADMIN is not set",
		"keys[0].key: environment variable TEAM_A is not set",
		"deployments[0].api_key: environment variable AZURE_KEY is not set",
		"deployments[0].rpm: environment variable RPM is not set",
		`deployments[1].api_key: invalid environment reference "os.environ/not-a-name"; write os.environ/NAME with NAME made of letters, digits and _`,
	}
	var got []string
	for _, e := range unjoin(err) {
		got = append(got, e.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate problems mismatch (-want +got):\n%s", diff)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		data string
		want int
	}{
		{"routing: {strategy: random}", DefaultRetries},
		{"routing: {retries: 0}", 0},
		{"routing: {retries: 5}", 5},
		{"routing: {retries: -1}", -1},
		{"routing: {retries: ~}", DefaultRetries},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.data, nil)
		if got := c.Routing.Retries; got != tt.want {
			t.Errorf("Parse(%q).Routing.Retries = %d, want %d", tt.data, got, tt.want)
		}
		c.ApplyDefaults()
		if got := c.Routing.Retries; got != tt.want {
			t.Errorf("after a second ApplyDefaults, Parse(%q).Routing.Retries = %d, want %d", tt.data, got, tt.want)
		}
	}

	var c Config
	c.ApplyDefaults()
	if got, want := c.Routing.Retries, DefaultRetries; got != want {
		t.Errorf("Config{}.ApplyDefaults: Retries = %d, want %d", got, want)
	}
	c.Routing.Retries = 0
	c.ApplyDefaults()
	if got, want := c.Routing.Retries, 0; got != want {
		t.Errorf("Retries set to 0 after defaults, then ApplyDefaults: %d, want %d", got, want)
	}
}

func TestApplyDefaultsDeployments(t *testing.T) {
	c := mustParse(t, `
deployments:
  - model: gpt-4o
    resource_name: eastus
  - model: gpt-4o
    id: gpt-4o-3
    endpoint: https://westus.openai.azure.com
  - model: gpt-4o
    endpoint: https://x.cognitiveservices.azure.com
  - model: text-embedding-3-small
    class: openai-embedding
    endpoint: https://api.openai.com/v1
  - model: search
    class: azure-ai-search
    endpoint: https://s.search.windows.net
  - model: local
    provider: openai-compatible
    endpoint: http://127.0.0.1:8000/v1
    priority: 2
    weight: 5
    api_version: v9
`, nil)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	type summary struct {
		ID, Class, Provider, Deployment, APIVersion, BaseURL string
		Priority, Weight                                     int
	}
	var got []summary
	for _, d := range c.Deployments {
		got = append(got, summary{d.ID, d.Class, d.Provider, d.Deployment, d.APIVersion, d.BaseURL(), d.Priority, d.Weight})
	}
	want := []summary{
		{"gpt-4o-1", ClassChat, ProviderAzure, "gpt-4o", DefaultAPIVersion, "https://eastus.openai.azure.com", 1, 1},
		{"gpt-4o-3", ClassChat, ProviderAzure, "gpt-4o", DefaultAPIVersion, "https://westus.openai.azure.com", 1, 1},
		{"gpt-4o-4", ClassChat, ProviderAzure, "gpt-4o", DefaultAPIVersion, "https://x.cognitiveservices.azure.com", 1, 1},
		{"text-embedding-3-small-1", ClassEmbeddings, ProviderOpenAI, "text-embedding-3-small", "", "https://api.openai.com/v1", 1, 1},
		{"search-1", ClassSearch, ProviderAzureSearch, "search", "", "https://s.search.windows.net", 1, 1},
		{"local-1", ClassChat, ProviderOpenAICompatible, "local", "v9", "http://127.0.0.1:8000/v1", 2, 5},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		d    Deployment
		want string
	}{
		{Deployment{Endpoint: "https://eastus.openai.azure.com/"}, "https://eastus.openai.azure.com"},
		{Deployment{Provider: ProviderAzure, ResourceName: "eastus"}, "https://eastus.openai.azure.com"},
		{Deployment{Provider: ProviderAzureSearch, ResourceName: "docs"}, "https://docs.search.windows.net"},
		{Deployment{Provider: ProviderOpenAI}, "https://api.openai.com/v1"},
		{Deployment{Provider: ProviderOpenAI, Endpoint: "http://127.0.0.1:9101/v1"}, "http://127.0.0.1:9101/v1"},
		{Deployment{Provider: ProviderOpenAICompatible}, ""},
	}
	for _, tt := range tests {
		if got := tt.d.BaseURL(); got != tt.want {
			t.Errorf("%+v.BaseURL() = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestApplyDefaultsIdempotent(t *testing.T) {
	c := mustParse(t, "deployments:\n  - model: a\n  - model: a\n    id: a-1\n  - {}\n", nil)
	before := *c
	before.Deployments = slices.Clone(c.Deployments)
	c.ApplyDefaults()
	if diff := cmp.Diff(&before, c, cmp.AllowUnexported(Config{})); diff != "" {
		t.Errorf("second ApplyDefaults changed the config (-before +after):\n%s", diff)
	}
	if got, want := c.Deployments[0].ID, "a-2"; got != want {
		t.Errorf("generated id = %q, want %q (a-1 is taken)", got, want)
	}
}

func TestExamples(t *testing.T) {
	paths, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skip("no examples/*.yaml")
	}
	for _, p := range paths {
		c, err := Load(p)
		if err != nil {
			t.Errorf("Load(%s): %v", p, err)
			continue
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%s):\n%v", p, err)
		}
		if len(c.Deployments) == 0 {
			t.Errorf("%s has no deployments", p)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spillway.yaml")
	if err := os.WriteFile(path, []byte("routing:\n  retries: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+": invalid YAML: line ") {
		t.Errorf("Load of a broken file: %v, want the path, then invalid YAML: line N", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want os.ErrNotExist", err)
	}
	t.Setenv("SPILLWAY_TEST_LISTEN", "0.0.0.0:8080")
	if err := os.WriteFile(path, []byte("listen: os.environ/SPILLWAY_TEST_LISTEN\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Listen, "0.0.0.0:8080"; got != want {
		t.Errorf("Listen = %q, want %q from the environment", got, want)
	}
}

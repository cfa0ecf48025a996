package config

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseLiteLLM(t *testing.T) {
	data, err := os.ReadFile("testdata/litellm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, string(data), map[string]string{
		"AZURE_API_KEY_SWEDEN": "k-sweden",
		"AZURE_API_KEY_EASTUS": "k-eastus",
		"OPENAI_API_KEY":       "sk-openai",
		"LITELLM_MASTER_KEY":   "sk-master",
		// environment_variables in the file win, as in LiteLLM.
		"AZURE_API_BASE_EASTUS": "https://ignored.openai.azure.com",
	})
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := &Config{
		Listen:     DefaultListen,
		Store:      DefaultStore,
		AdminToken: "sk-master",
		Keys:       []Key{{Key: "sk-master", Name: "master_key"}},
		Routing: Routing{
			Strategy:         "least-inflight",
			Retries:          0,
			Cooldown:         Duration(45 * time.Second),
			ConnectTimeout:   Duration(DefaultConnectTimeout),
			FirstByteTimeout: Duration(90 * time.Second),
			IdleTimeout:      Duration(DefaultIdleTimeout),
			FailureThreshold: DefaultFailureThreshold,
			CircuitOpen:      Duration(DefaultCircuitOpen),
			SlowThreshold:    Duration(DefaultSlowThreshold),
			SlowFactor:       DefaultSlowFactor,
		},
		Models: map[string]Model{
			"gpt-4o":      {Fallbacks: []string{"gpt-4o-mini"}},
			"gpt-4o-mini": {ContextWindowFallback: "gpt-4o"},
		},
		Deployments: []Deployment{
			{
				ID: "gpt4o-ptu-sweden", Model: "gpt-4o", Class: ClassChat, Provider: ProviderAzure,
				Endpoint: "https://swedencentral.openai.azure.com/", Deployment: "gpt-4o-ptu",
				APIVersion: "2024-10-21", APIKey: "k-sweden", Priority: 1, Weight: 1, RPM: 1200, TPM: 200000,
				ModelInfo: map[string]any{"id": "gpt4o-ptu-sweden", "base_model": "azure/gpt-4o"},
			},
			{
				ID: "gpt-4o-2", Model: "gpt-4o", Class: ClassChat, Provider: ProviderAzure,
				Endpoint: "https://eastus.openai.azure.com", Deployment: "gpt-4o",
				APIVersion: DefaultAPIVersion, APIKey: "k-eastus", Priority: 2, Weight: 3, RPM: 600,
			},
			{
				ID: "gpt-4o-mini-1", Model: "gpt-4o-mini", Class: ClassChat, Provider: ProviderOpenAI,
				Deployment: "gpt-4o-mini", APIKey: "sk-openai", Priority: 1, Weight: 1,
			},
			{
				ID: "text-embedding-3-small-1", Model: "text-embedding-3-small", Class: ClassEmbeddings, Provider: ProviderAzure,
				Endpoint: "https://eastus.openai.azure.com", Deployment: "text-embedding-3-small",
				APIVersion: DefaultAPIVersion, APIKey: "k-eastus", Priority: 1, Weight: 1,
				ModelInfo: map[string]any{"mode": "embedding"},
			},
			{
				ID: "ada-1", Model: "ada", Class: ClassEmbeddings, Provider: ProviderAzure,
				Endpoint: "https://eastus.openai.azure.com", Deployment: "text-embedding-ada-002",
				APIVersion: DefaultAPIVersion, APIKey: "k-eastus", Priority: 1, Weight: 1,
			},
			{
				ID: "dall-e-3-1", Model: "dall-e-3", Class: ClassImages, Provider: ProviderAzure,
				Endpoint: "https://eastus.openai.azure.com", Deployment: "dall-e-3",
				APIVersion: "2024-02-01", APIKey: "k-eastus", Priority: 1, Weight: 1,
			},
			{
				ID: "llama-3-1", Model: "llama-3", Class: ClassChat, Provider: ProviderOpenAI,
				Endpoint: "http://10.0.0.5:8000/v1", Deployment: "meta-llama/Llama-3-8B-Instruct",
				APIKey: "none", Priority: 1, Weight: 1,
			},
		},
		Limits: Limits{
			MaxBodyBytes:    DefaultMaxBodyBytes,
			ShutdownGrace:   Duration(DefaultShutdownGrace),
			MaxTokensPolicy: "reject",
		},
		Usage: Usage{PayloadRetention: Duration(DefaultPayloadRetention)},
	}
	if diff := cmp.Diff(want, c, ignoreUnexported); diff != "" {
		t.Errorf("Parse(litellm.yaml) mismatch (-want +got):\n%s", diff)
	}
}

func TestLiteLLMSettings(t *testing.T) {
	const models = "model_list:\n  - {model_name: a, litellm_params: {model: gpt-4o}}\n"
	tests := []struct {
		data     string
		strategy string
		retries  int
		timeout  time.Duration
	}{
		{models, DefaultStrategy, DefaultRetries, DefaultFirstByteTimeout},
		{models + "router_settings: {routing_strategy: simple-shuffle, num_retries: 4}\n", "random", 4, DefaultFirstByteTimeout},
		{models + "router_settings: {routing_strategy: latency-based-routing}\n", "lowest-latency", DefaultRetries, DefaultFirstByteTimeout},
		{models + "router_settings: {routing_strategy: usage-based-routing-v2}\n", "round-robin", DefaultRetries, DefaultFirstByteTimeout},
		{models + "litellm_settings: {num_retries: 0, request_timeout: 1.5}\n", DefaultStrategy, 0, 1500 * time.Millisecond},
		// Native settings beside model_list win.
		{models + "routing: {strategy: weighted, retries: 1}\nrouter_settings: {routing_strategy: least-busy, num_retries: 3}\n", "weighted", 1, DefaultFirstByteTimeout},
	}
	for _, tt := range tests {
		c := mustParse(t, tt.data, nil)
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%q): %v", tt.data, err)
		}
		r := c.Routing
		if r.Strategy != tt.strategy || r.Retries != tt.retries || r.FirstByteTimeout.D() != tt.timeout {
			t.Errorf("Parse(%q): strategy, retries, timeout = %s, %d, %s; want %s, %d, %s",
				tt.data, r.Strategy, r.Retries, r.FirstByteTimeout, tt.strategy, tt.retries, tt.timeout)
		}
	}
}

func TestLiteLLMProblemsNameTheFileLines(t *testing.T) {
	c := mustParse(t, `
model_list:
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o
      api_key: os.environ/AZURE_API_KEY
      rpm: -1
    model_info:
      id: dup
  - model_name: whisper
    litellm_params:
      model: azure/whisper
      api_base: eastus
    model_info:
      id: dup
      mode: rerank
router_settings:
  cooldown_time: -3
  fallbacks: [{gpt-4o: [gpt-5]}]
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
`, nil)
	want := []string{
		"model_list[1].litellm_params.api_key: environment variable AZURE_API_KEY is not set",
		"general_settings.master_key: environment variable LITELLM_MASTER_KEY is not set",
		"router_settings.cooldown_time: must not be negative, got -3s",
		`model_list[0].litellm_params.model: unsupported provider "anthropic"; Spillway serves azure/<deployment> and openai/<model>`,
		"model_list[1].litellm_params.api_base: missing; set endpoint (https://NAME.openai.azure.com) or resource_name (NAME)",
		"model_list[1].litellm_params.rpm: must not be negative; 0 means unlimited",
		`model_list[2].model_info.id: duplicate id "dup", also used by model_list[1]`,
		`model_list[2].model_info.mode: unsupported mode "rerank"; Spillway serves chat, completion, embedding, image_generation, audio_transcription, audio_speech, moderation and realtime`,
		`model_list[2].litellm_params.api_base: invalid endpoint "eastus"; use an absolute http(s) URL such as https://NAME.openai.azure.com`,
		`router_settings.fallbacks[0].gpt-4o[0]: no deployment serves model "gpt-5"; a fallback must name a model under deployments`,
	}
	var got []string
	for _, e := range unjoin(c.Validate()) {
		got = append(got, e.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate mismatch (-want +got):\n%s", diff)
	}
}

func TestAnchorsAndMerges(t *testing.T) {
	c := mustParse(t, `
model_list:
  - model_name: gpt-4o
    litellm_params: &eastus
      model: azure/gpt-4o
      api_base: https://eastus.openai.azure.com
      api_key: os.environ/KEY
  - model_name: gpt-4o
    litellm_params:
      <<: *eastus
      api_base: https://westus.openai.azure.com
deployments:
  - &d {model: local, provider: openai-compatible, endpoint: "http://127.0.0.1:${PORT}/v1"}
  - *d
`, map[string]string{"KEY": "k", "PORT": "9101"})
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	var got [][3]string
	for _, d := range c.Deployments {
		got = append(got, [3]string{d.ID, d.Endpoint, d.APIKey.Value()})
	}
	want := [][3]string{
		{"local-1", "http://127.0.0.1:9101/v1", ""},
		{"local-2", "http://127.0.0.1:9101/v1", ""},
		{"gpt-4o-1", "https://eastus.openai.azure.com", "k"},
		{"gpt-4o-2", "https://westus.openai.azure.com", "k"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deployments mismatch (-want +got):\n%s", diff)
	}
}

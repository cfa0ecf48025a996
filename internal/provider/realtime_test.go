package provider_test

import (
	"testing"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/provider"
)

func TestRealtimeURL(t *testing.T) {
	tests := []struct {
		name string
		d    config.Deployment
		want string // "" when the deployment serves no Realtime session
	}{
		{"azure", config.Deployment{Provider: config.ProviderAzure, Class: config.ClassRealtime, Endpoint: "https://eastus.openai.azure.com", Deployment: "my realtime", APIVersion: "2025-04-01-preview"},
			"https://eastus.openai.azure.com/openai/v1/realtime?model=my+realtime"},
		{"openai", config.Deployment{Provider: config.ProviderOpenAI, Class: config.ClassRealtime, Deployment: "gpt-realtime"},
			"https://api.openai.com/v1/realtime?model=gpt-realtime"},
		{"openai-compatible under a path", config.Deployment{Provider: config.ProviderOpenAICompatible, Class: config.ClassRealtime, Endpoint: "http://10.0.0.5:8000/proxy/v1", Deployment: "local-rt"},
			"http://10.0.0.5:8000/proxy/v1/realtime?model=local-rt"},
		{"azure ai search", config.Deployment{Provider: config.ProviderAzureSearch, Class: config.ClassSearch, Endpoint: "https://s.search.windows.net"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, err := provider.NewTarget(tt.d)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if u := target.RealtimeURL(); u != nil {
				got = u.String()
			}
			if got != tt.want {
				t.Errorf("RealtimeURL = %q, want %q", got, tt.want)
			}
			if serves := target.Serves(provider.Realtime); serves != (tt.want != "") {
				t.Errorf("Serves(Realtime) = %v, want %v", serves, tt.want != "")
			}
		})
	}
}

package main

import (
	"context"
	"testing"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
)

func TestClientAuth(t *testing.T) {
	keys := auth.NewKeyring(auth.NewStaticKeys([]auth.StaticKey{{Key: "sk-a", Name: "team-a"}}), nil)
	if got := clientAuth(&config.Config{}, keys); got != auth.Authenticator(keys) {
		t.Errorf("without client_auth: %T, want the keyring", got)
	}
	cfg := &config.Config{ClientAuth: config.ClientAuth{Entra: &config.ClientEntra{
		TenantID: "t", Audience: "api://spillway", Map: []config.EntraMapping{{AppID: "app", KeyID: "team-a"}}}}}
	a := clientAuth(cfg, keys)
	if _, ok := a.(*auth.Entra); !ok {
		t.Fatalf("with client_auth.entra: %T, want *auth.Entra", a)
	}
	if p, err := a.Authenticate(context.Background(), "sk-a"); err != nil || p.Name != "team-a" {
		t.Errorf("a static key through the Entra authenticator: %v, %v", p, err)
	}
}

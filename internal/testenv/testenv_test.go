package testenv

import (
	"net"
	"strings"
	"testing"
)

func TestCI(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  bool
	}{
		{"", false}, {"0", false}, {"false", false}, {"FALSE", false}, {" false ", false},
		{"true", true}, {"1", true}, {"yes", true}, {"True", true},
	} {
		t.Setenv("CI", tt.value)
		if got := CI(); got != tt.want {
			t.Errorf("CI=%q: CI() = %v, want %v", tt.value, got, tt.want)
		}
	}
}

// closedAddr returns an address where nothing listens.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestLookup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	up, down := "redis://"+ln.Addr().String()+"/0", "redis://"+closedAddr(t)+"/0"

	for _, tt := range []struct {
		name, env, ci string
		wantErr       string // "" when found
		wantRequired  bool
	}{
		{"default answers", "", "", "", false},
		{"set and answers", up, "", "", true},
		{"set, nothing answers", down, "", "nothing answers at", true},
		{"set, not a redis URL", "postgres://" + ln.Addr().String(), "", "want a redis:// URL", true},
		{"default missing, under CI", "", "true", "nothing answers at", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv("SPILLWAY_TEST_SOMETHING", tt.env)
			def := up
			if tt.ci != "" {
				def = down
			}
			s := &Service{Name: "Something", Env: "SPILLWAY_TEST_SOMETHING", Default: def, find: dialURL("6379", "redis")}
			at, err := s.Lookup()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Lookup() error %v, want found", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Lookup() = %q, %v; want an error containing %q", at, err, tt.wantErr)
			}
			if got := s.Required(); got != tt.wantRequired {
				t.Errorf("Required() = %v, want %v", got, tt.wantRequired)
			}
			if err != nil {
				if msg := s.Missing(err); strings.Contains(msg, "\n") || !strings.Contains(msg, "Something not available") {
					t.Errorf("Missing() = %q, want one line naming the service", msg)
				}
			}
		})
	}
}

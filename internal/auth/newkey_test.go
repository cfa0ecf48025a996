package auth

import (
	"strings"
	"testing"
)

func TestNewKeyUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k := NewKey()
		if !strings.HasPrefix(k, "sk-") || len(k) != 3+43 {
			t.Fatalf("NewKey() = %q, want sk- and 43 characters", k)
		}
		if seen[k] {
			t.Fatalf("NewKey() repeated %q", k)
		}
		seen[k] = true
	}
}

func TestAttendeeKey(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	a := AttendeeKey(secret, "ev1", "ann@example.com", 0)
	if got := AttendeeKey(secret, "ev1", "ann@example.com", 0); got != a {
		t.Errorf("same inputs: got %q, want %q", got, a)
	}
	others := []string{
		AttendeeKey(secret, "ev2", "ann@example.com", 0),
		AttendeeKey(secret, "ev1", "bob@example.com", 0),
		AttendeeKey(secret, "ev1", "ann@example.com", 1),
		AttendeeKey([]byte("another secret of thirty-two by"), "ev1", "ann@example.com", 0),
		// The separator keeps (ev1x, y) apart from (ev1, xy).
		AttendeeKey(secret, "ev1a", "nn@example.com", 0),
	}
	for i, o := range others {
		if o == a {
			t.Errorf("variant %d: got the same key %q", i, o)
		}
	}
	if !strings.HasPrefix(a, "sk-") {
		t.Errorf("AttendeeKey = %q, want the sk- prefix", a)
	}
}

func TestDisplayPrefix(t *testing.T) {
	if got, want := DisplayPrefix("sk-abcdefgh"), "sk-abcd"; got != want {
		t.Errorf("DisplayPrefix = %q, want %q", got, want)
	}
	if got, want := DisplayPrefix("sk-a"), "sk-a"; got != want {
		t.Errorf("DisplayPrefix(short) = %q, want %q", got, want)
	}
}

package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestSecretNeverPrints(t *testing.T) {
	const value = "sk-very-secret-value"
	s := Secret(value)
	d := Deployment{Model: "gpt-4o", APIKey: s}
	c := Config{AdminToken: s, Keys: []Key{{Key: s, Name: "k"}}, Deployments: []Deployment{d}}

	var outputs []string
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q", "%x", "%X"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, s), fmt.Sprintf(verb, &s),
			fmt.Sprintf(verb, d), fmt.Sprintf(verb, &d), fmt.Sprintf(verb, c))
	}
	outputs = append(outputs, fmt.Sprint(s), fmt.Sprintln(d), s.String(), s.GoString(), s.Redacted())

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("secret", "key", s, "deployment", d, "keys", c.Keys)
		l.Info("group", slog.Group("g", slog.Any("key", s)))
	}
	outputs = append(outputs, buf.String())

	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j), string(y))

	for _, out := range outputs {
		lower := strings.ToLower(out)
		if strings.Contains(out, value) || strings.Contains(lower, fmt.Sprintf("%x", value)) {
			t.Errorf("output reveals the secret: %s", out)
		}
		if !strings.Contains(out, "*********") && !strings.Contains(lower, "2a2a2a") {
			t.Errorf("output lacks the redacted form: %s", out)
		}
	}
	if got := s.Value(); got != value {
		t.Errorf("Value() = %q, want %q", got, value)
	}
	if got := Secret("").Redacted(); got != "" {
		t.Errorf(`Secret("").Redacted() = %q, want ""`, got)
	}
}

package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ParseDuration reads a duration as written in the file: a Go duration
// ("30s", "1m30s", "250ms") or a bare number of seconds ("30", "0.5"), the
// form LiteLLM uses. Negative values parse; Validate rejects them.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		ns := f * float64(time.Second)
		if math.IsNaN(ns) || ns >= math.MaxInt64 || ns <= math.MinInt64 {
			return 0, fmt.Errorf("invalid duration %q; use a Go duration such as 30s or a number of seconds", s)
		}
		return Duration(ns), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q; use a Go duration such as 30s or a number of seconds", s)
	}
	return Duration(d), nil
}

// UnmarshalYAML implements yaml.Unmarshaler with ParseDuration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("invalid duration: got a %s; use a Go duration such as 30s or a number of seconds", kindName(n))
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the Go form ("1m30s"), which UnmarshalYAML reads back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String returns the Go form, e.g. "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse checks that no input makes Parse or Validate panic, that every
// problem is a *FieldError, and that a config that parses and validates is
// left alone by a second ApplyDefaults.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	examples, _ := filepath.Glob("../../examples/*.yaml")
	for _, p := range append(seeds, examples...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"deployments:" + azure,
		"routing: {retries: 0, cooldown: 1.5}\n",
		"listen: ${A}\nx: &a [*a]\n",
		"models: &m\n  a:\n    fallbacks: *m\n",
		"deployments:\n  - <<: [{model: m}]\n    resource_name: r\n",
		"model_list:\n  - model_name: m\n    litellm_params: {model: azure/x, api_base: os.environ/A}\nrouter_settings: {fallbacks: [{m: [m]}]}\n",
	} {
		f.Add([]byte(s))
	}
	lookup := env(map[string]string{"A": "1", "AZURE_KEY_EASTUS": "k"})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, lookup)
		if err != nil {
			return
		}
		err = c.Validate()
		for _, e := range unjoin(err) {
			if _, ok := e.(*FieldError); !ok {
				t.Fatalf("problem %v is a %T, want *FieldError", e, e)
			}
		}
		if err != nil {
			return
		}
		again, err := Parse(data, lookup)
		if err != nil {
			t.Fatalf("second Parse: %v", err)
		}
		again.ApplyDefaults()
		if diff := cmp.Diff(c, again, cmp.AllowUnexported(Config{}), cmpopts.EquateNaNs()); diff != "" {
			t.Fatalf("ApplyDefaults is not idempotent (-once +twice):\n%s", diff)
		}
	})
}

package config

import (
	"fmt"
	"regexp"
	"strings"
)

// envPrefix marks a value that is wholly an environment variable, LiteLLM's
// convention: api_key: os.environ/AZURE_API_KEY.
const envPrefix = "os.environ/"

// envRef matches ${NAME} anywhere in a value.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// validEnvName matches what POSIX shells accept as a variable name.
var validEnvName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv resolves os.environ/NAME (the whole value) and ${NAME} (anywhere
// in it). It returns the expanded value, whether anything was replaced, and
// one message per reference it could not resolve; those resolve to "".
// Text that merely looks similar, such as "$NAME" or "${1}", is left as is.
func expandEnv(s string, lookup func(string) (string, bool)) (out string, changed bool, problems []string) {
	if name, ok := strings.CutPrefix(s, envPrefix); ok {
		if !validEnvName.MatchString(name) {
			return "", true, []string{fmt.Sprintf("invalid environment reference %q; write os.environ/NAME with NAME made of letters, digits and _", s)}
		}
		v, ok := lookup(name)
		if !ok {
			return "", true, []string{fmt.Sprintf("environment variable %s is not set", name)}
		}
		return v, true, nil
	}
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	out = envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		v, ok := lookup(name)
		if !ok {
			problems = append(problems, fmt.Sprintf("environment variable %s is not set", name))
		}
		changed = true
		return v
	})
	return out, changed, problems
}

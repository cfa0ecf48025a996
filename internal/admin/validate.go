package admin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/spillwayhq/spillway/internal/config"
)

// problem is one thing wrong with a deployment: field is the
// config.Deployment field as Validate names it (class, endpoint, ...).
type problem struct {
	field, msg string
}

// fieldNames maps a config.Deployment field to the name a dialect's body
// uses for it, so that a 400 names what the client sent. Fields not listed
// keep their name.
type fieldNames map[string]string

func (f fieldNames) name(field string) string {
	if n, ok := f[field]; ok {
		return n
	}
	return field
}

// fieldOrder is the order problems are listed in: the order of the fields
// in a deployment.
var fieldOrder = []string{"id", "model", "class", "provider", "endpoint", "resource_name", "deployment", "api_version", "api_key", "priority", "weight", "rpm", "tpm", "active", "model_info"}

// validID matches the ids the API accepts: usable in a URL path as is.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

// validate checks d exactly as the config file's deployments are checked,
// as the only deployment of a config: defaults applied, then Validate. It
// returns d with defaults filled in, or a 400 that lists every problem in
// the dialect's field names. extra are problems the dialect found itself;
// they replace Validate's for the same field, whose wording is the file's.
func validate(d config.Deployment, names fieldNames, extra ...problem) (config.Deployment, error) {
	c := config.Config{Deployments: []config.Deployment{d}}
	c.ApplyDefaults()
	d = c.Deployments[0]

	problems := slices.Clone(extra)
	replaced := map[string]bool{}
	for _, p := range extra {
		replaced[p.field] = true
	}
	if d.ID != "" && !validID.MatchString(d.ID) && !replaced["id"] {
		problems = append(problems, problem{"id", fmt.Sprintf("invalid id %q; use up to 128 letters, digits and . _ : @ -, starting with a letter or digit", d.ID)})
	}
	if err := c.Validate(); err != nil {
		for _, fe := range fieldErrors(err) {
			field, ok := strings.CutPrefix(fe.Path, "deployments[0].")
			if !ok {
				field = fe.Path
			}
			if !replaced[field] {
				problems = append(problems, problem{field, fe.Msg})
			}
		}
	}
	if len(problems) == 0 {
		return d, nil
	}
	slices.SortStableFunc(problems, func(a, b problem) int { return order(a.field) - order(b.field) })
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = names.name(p.field) + ": " + p.msg
	}
	return d, errBadRequest(names.name(problems[0].field), "invalid_deployment", "%s", strings.Join(lines, "\n"))
}

func order(field string) int {
	if i := slices.Index(fieldOrder, field); i >= 0 {
		return i
	}
	return len(fieldOrder)
}

// fieldErrors unpacks Validate's joined error.
func fieldErrors(err error) []*config.FieldError {
	var out []*config.FieldError
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			out = append(out, fieldErrors(e)...)
		}
		return out
	}
	var fe *config.FieldError
	if errors.As(err, &fe) {
		return []*config.FieldError{fe}
	}
	return []*config.FieldError{{Msg: err.Error()}}
}

// envPrefix marks a value read from the environment: LiteLLM's
// convention, which the config file shares.
const envPrefix = "os.environ/"

// resolveSecret returns v, or the value of the environment variable that
// os.environ/NAME names, read now, when the request is made. An unset
// variable is a problem with api_key, which never quotes a value.
func resolveSecret(v string) (string, *problem) {
	name, ok := strings.CutPrefix(v, envPrefix)
	if !ok {
		return v, nil
	}
	if name == "" {
		return "", &problem{"api_key", "os.environ/ names no variable; write os.environ/NAME"}
	}
	value, set := os.LookupEnv(name)
	if !set {
		return "", &problem{"api_key", fmt.Sprintf("environment variable %s is not set on the gateway; set it, or send the key itself", name)}
	}
	return value, nil
}

// newID returns an id for a deployment of model: model-xxxxxx, six random
// hex digits, with characters an id may not hold replaced by -.
func newID(model string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	base := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, model)
	base = strings.Trim(base, "-._")
	if len(base) > 100 {
		base = base[:100]
	}
	if base == "" {
		base = "deployment"
	}
	return base + "-" + hex.EncodeToString(b[:])
}

// maskedKey is how a set upstream key appears in every response
// (config.Secret.Redacted). A client that sends it back (GET, edit, PATCH)
// means "keep the stored key".
const maskedKey = "*********"

package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// litellmFieldSet is a LiteLLM key or team body, read field by field: the
// fields Spillway maps are taken, the limits it cannot enforce are
// refused (never silently dropped), and everything else is accepted and
// named in the answer's "spillway_warnings", so a script's author sees
// what Spillway did not do.
type litellmFieldSet struct {
	raw      map[string]json.RawMessage
	v        invalid
	warnings []string
}

// decodeLiteLLM reads r's body as a JSON object of fields.
func decodeLiteLLM(w http.ResponseWriter, r *http.Request, code string) (*litellmFieldSet, error) {
	var raw map[string]json.RawMessage
	if err := decode(w, r, &raw, false); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, errBadRequest("", "invalid_json", "the body must be a JSON object")
	}
	return &litellmFieldSet{raw: raw, v: invalid{code: code}}, nil
}

// has reports whether the body holds name with a value other than null.
func (f *litellmFieldSet) has(name string) bool {
	b, ok := f.raw[name]
	return ok && !isNull(b)
}

// present reports whether the body names the field at all, null included.
func (f *litellmFieldSet) present(name string) bool {
	_, ok := f.raw[name]
	return ok
}

func isNull(b json.RawMessage) bool { return string(bytes.TrimSpace(b)) == "null" }

// take marks name as handled and decodes it into dst when it is set (not
// null); it reports whether it did.
func (f *litellmFieldSet) take(name string, dst any) bool {
	b, ok := f.raw[name]
	delete(f.raw, name)
	if !ok || isNull(b) {
		return false
	}
	if err := json.Unmarshal(b, dst); err != nil {
		f.v.add(name, "want %s", jsonKindOf(dst))
		return false
	}
	return true
}

// jsonKindOf names what dst takes, for messages.
func jsonKindOf(dst any) string {
	switch dst.(type) {
	case *string:
		return "a string"
	case *int, *int64:
		return "a whole number"
	case *float64:
		return "a number"
	case *bool:
		return "true or false"
	case *[]string:
		return "a list of strings"
	case *map[string]any:
		return "a JSON object"
	}
	return "another type"
}

// refuseLimits refuses, by name, limits Spillway does not enforce when a
// body sets them to anything but null or empty: accepting them would let
// a script believe a limit holds that does not.
func (f *litellmFieldSet) refuseLimits(names map[string]string) {
	for _, name := range sortedKeys(names) {
		b, ok := f.raw[name]
		delete(f.raw, name)
		if !ok || isEmptyJSON(b) {
			continue
		}
		f.v.add(name, "Spillway does not enforce this limit, so it refuses it rather than ignore it; %s", names[name])
	}
}

// isEmptyJSON reports null, 0, false, "", [] and {}: values that set no
// limit.
func isEmptyJSON(b json.RawMessage) bool {
	switch string(bytes.TrimSpace(b)) {
	case "null", "0", "false", `""`, "[]", "{}":
		return true
	}
	return false
}

// ignored accepts the fields left and names every one that carries a
// value in the warnings; hint says where their meaning lives in Spillway,
// when it does.
func (f *litellmFieldSet) ignored(hints map[string]string) {
	for _, name := range sortedKeys(f.raw) {
		if isEmptyJSON(f.raw[name]) {
			continue
		}
		msg := name + ": accepted and ignored; Spillway has no such setting"
		if h, ok := hints[name]; ok {
			msg = name + ": accepted and ignored; " + h
		}
		f.warnings = append(f.warnings, msg)
	}
	f.raw = nil
}

func (f *litellmFieldSet) warn(format string, args ...any) {
	f.warnings = append(f.warnings, fmt.Sprintf(format, args...))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// litellmDurationRE is LiteLLM's duration syntax: a count and a unit,
// "30s", "15m", "2h", "7d", "2w", "1mo".
var litellmDurationRE = regexp.MustCompile(`^([0-9]{1,6})(s|m|h|d|w|mo)$`)

// parseLiteLLMDuration returns when a LiteLLM duration that starts now
// ends: months are calendar months; more than a century is refused.
func parseLiteLLMDuration(s string, now time.Time) (time.Time, bool) {
	m := litellmDurationRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return time.Time{}, false
	}
	n, _ := strconv.Atoi(m[1])
	if n == 0 {
		return time.Time{}, false
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
	t := now.AddDate(0, n, 0)
	if u := unit[m[2]]; u != 0 {
		// Checked before multiplying, which would overflow past 292 years.
		if time.Duration(n) > maxDurationYears*366*24*time.Hour/u {
			return time.Time{}, false
		}
		t = now.Add(time.Duration(n) * u)
	}
	// Beyond a century is a typo, and beyond year 9999 not a time JSON
	// can carry.
	if t.After(now.AddDate(maxDurationYears, 0, 0)) {
		return time.Time{}, false
	}
	return t, true
}

// maxDurationYears bounds a LiteLLM duration.
const maxDurationYears = 100

// budgetPeriodOf maps a LiteLLM budget_duration to the period Spillway
// resets budgets on: a UTC day, an ISO week or a calendar month. LiteLLM
// counts 30 days from the key's creation; Spillway's month is the
// calendar month, which the caller reports.
func budgetPeriodOf(s string) (period string, approx bool, ok bool) {
	switch strings.TrimSpace(s) {
	case "1d", "24h":
		return "day", false, true
	case "7d", "1w":
		return "week", false, true
	case "1mo":
		return "month", false, true
	case "30d", "31d":
		return "month", true, true
	}
	return "", false, false
}

// litellmDurationOf is a budget period in LiteLLM's syntax.
func litellmDurationOf(period string) *string {
	d, ok := map[string]string{"day": "1d", "week": "7d", "month": "1mo"}[period]
	if !ok {
		return nil
	}
	return &d
}

// orNil renders zero values as null, the way LiteLLM shows unset limits.
func orNil[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// metadata reads metadata into dst, within the size a native body may
// have.
func (f *litellmFieldSet) metadata(dst *map[string]any) {
	if !f.present("metadata") {
		return
	}
	var md map[string]any
	f.take("metadata", &md)
	if raw, _ := json.Marshal(md); len(raw) > maxMetadata {
		f.v.add("metadata", "is %d bytes as JSON; the limit is %d", len(raw), maxMetadata)
	}
	*dst = md
}

// litellmModels reads a models list: LiteLLM's "all-proxy-models" and an
// empty list both allow every model.
func (f *litellmFieldSet) models(dst *[]string) {
	var list []string
	if !f.present("models") {
		return
	}
	if !f.take("models", &list) {
		*dst = nil
		return
	}
	if slices.Contains(list, "all-proxy-models") {
		*dst = nil
		return
	}
	*dst = f.v.models("models", list)
	if *dst != nil && len(*dst) == 0 {
		*dst = nil
	}
}

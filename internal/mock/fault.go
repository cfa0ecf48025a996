package mock

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// FaultKind says what a Fault does to a request.
type FaultKind int

const (
	// FaultStatus answers with Fault.Status and a body copied from what
	// Azure OpenAI or OpenAI send for that status.
	FaultStatus FaultKind = iota + 1
	// FaultHang never answers; the handler returns when the client goes
	// away or the Server is closed.
	FaultHang
	// FaultReset closes the TCP connection with an RST before any byte of
	// the response.
	FaultReset
	// FaultResetMidStream sends part of the response, then resets the
	// connection: Fault.After events of a stream, or half of a
	// non-streaming body.
	FaultResetMidStream
	// FaultSlow paces the answer at Fault.TokensPerSecond. It is not
	// terminal: the faults after it are still checked.
	FaultSlow
)

// Defaults ParseFault fills in when the spec leaves them out.
const (
	// DefaultResetAfter is how many stream events reset-mid-stream lets
	// through.
	DefaultResetAfter = 3
	// DefaultSlowTokensPerSecond is the pace of a slow fault.
	DefaultSlowTokensPerSecond = 2
)

// Bounds for parameter values, generous but small enough to stay far from
// overflowing a time.Duration.
const (
	maxRetryAfter   = 24 * time.Hour
	maxResetAfter   = 1_000_000
	maxFaultTPS     = 1_000_000
	minFaultStatus  = 400
	maxFaultStatus  = 599
	statusBadReq    = 400
	codeFilter      = "content_filter"
	codeContextLong = "context_length_exceeded"
)

var kindNames = map[FaultKind]string{
	FaultHang:           "hang",
	FaultReset:          "reset",
	FaultResetMidStream: "reset-mid-stream",
	FaultSlow:           "slow",
}

// String returns the kind's name in the fault grammar; FaultStatus has no
// name of its own (its spec is the status code) and prints as "status".
func (k FaultKind) String() string {
	if k == FaultStatus {
		return "status"
	}
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is one injected failure. A Server checks its faults in order for
// every routed request; the first terminal fault whose dice roll succeeds
// decides the answer. The zero value of every field except Kind is usable.
type Fault struct {
	// Kind selects the failure.
	Kind FaultKind
	// Probability is the chance, in (0,1], that the fault hits a given
	// request. Zero means 1: always.
	Probability float64
	// Status is the HTTP status of a FaultStatus, 400-599.
	Status int
	// Code picks the body of a 400: "content_filter" (the default, Azure's
	// content management policy error) or "context_length_exceeded".
	Code string
	// RetryAfter, when positive, is sent as the retry-after header in whole
	// seconds (rounded up). FaultStatus only.
	RetryAfter time.Duration
	// RetryAfterPrecise, when positive, is sent as the retry-after-ms header in
	// milliseconds. FaultStatus only.
	RetryAfterPrecise time.Duration
	// After is how many stream events (the role chunk counts) a
	// FaultResetMidStream lets through before the reset; 0 resets right
	// after the response headers. ParseFault defaults it to
	// DefaultResetAfter.
	After int
	// TokensPerSecond is the pace of a FaultSlow; 0 means
	// DefaultSlowTokensPerSecond.
	TokensPerSecond float64
}

// ParseFault parses one fault spec, the value of `spillway mock --fail`:
//
//	KIND[:PROBABILITY][:KEY=VALUE,...]
//
// See the package documentation for the kinds and their keys. The
// probability defaults to 1 and must be in (0,1].
func ParseFault(spec string) (Fault, error) {
	f, err := parseFault(spec)
	if err != nil {
		return Fault{}, fmt.Errorf("fault %q: %w", spec, err)
	}
	return f, nil
}

func parseFault(spec string) (Fault, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Fault{}, errors.New("empty spec; want KIND[:PROBABILITY][:KEY=VALUE,...]")
	}
	parts := strings.SplitN(spec, ":", 3)
	var f Fault
	if err := f.setKind(strings.ToLower(strings.TrimSpace(parts[0]))); err != nil {
		return Fault{}, err
	}
	f.Probability = 1
	var params string
	switch {
	case len(parts) >= 2 && strings.Contains(parts[1], "="):
		if len(parts) == 3 {
			return Fault{}, fmt.Errorf("unexpected %q after the parameters; separate parameters with commas", ":"+parts[2])
		}
		params = parts[1]
	case len(parts) >= 2:
		p, err := parseProbability(parts[1])
		if err != nil {
			return Fault{}, err
		}
		f.Probability = p
		if len(parts) == 3 {
			params = parts[2]
			if !strings.Contains(params, "=") {
				return Fault{}, fmt.Errorf("unexpected %q after the probability; want KEY=VALUE pairs separated by commas", params)
			}
		}
	}
	if err := f.setParams(params); err != nil {
		return Fault{}, err
	}
	return f, nil
}

func (f *Fault) setKind(kind string) error {
	for k, n := range kindNames {
		if n == kind {
			f.Kind = k
			if k == FaultResetMidStream {
				f.After = DefaultResetAfter
			}
			if k == FaultSlow {
				f.TokensPerSecond = DefaultSlowTokensPerSecond
			}
			return nil
		}
	}
	if kind != "" && kind[0] >= '0' && kind[0] <= '9' {
		code, err := strconv.Atoi(kind)
		if err != nil || len(kind) != 3 {
			return fmt.Errorf("bad status %q; want a 3-digit HTTP status such as 429 or 503", kind)
		}
		if code < minFaultStatus || code > maxFaultStatus {
			return fmt.Errorf("status %d is not an error; want 400-599", code)
		}
		f.Kind, f.Status = FaultStatus, code
		return nil
	}
	return fmt.Errorf("unknown fault kind %q; want an HTTP status (400-599), hang, reset, reset-mid-stream or slow", kind)
}

func parseProbability(s string) (float64, error) {
	p, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("bad probability %q; want a number in (0,1] such as 0.25, or KEY=VALUE parameters", s)
	}
	if !(p > 0 && p <= 1) {
		return 0, fmt.Errorf("probability must be in (0,1], got %s", s)
	}
	return p, nil
}

// keys lists the parameters each kind accepts, for parsing and messages.
func (f *Fault) keys() []string {
	switch f.Kind {
	case FaultStatus:
		if f.Status == statusBadReq {
			return []string{"retry-after", "retry-after-ms", "code"}
		}
		return []string{"retry-after", "retry-after-ms"}
	case FaultResetMidStream:
		return []string{"after"}
	case FaultSlow:
		return []string{"tps"}
	}
	return nil
}

func (f *Fault) setParams(params string) error {
	if params == "" {
		return nil
	}
	allowed := f.keys()
	seen := make(map[string]bool, len(allowed))
	for kv := range strings.SplitSeq(params, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return fmt.Errorf("bad parameter %q; want KEY=VALUE", kv)
		}
		if !contains(allowed, k) {
			if len(allowed) == 0 {
				return fmt.Errorf("fault %s takes no parameters, got %q", f.name(), k)
			}
			return fmt.Errorf("unknown parameter %q for fault %s; want %s", k, f.name(), strings.Join(allowed, ", "))
		}
		if seen[k] {
			return fmt.Errorf("parameter %q given twice", k)
		}
		seen[k] = true
		if err := f.setParam(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (f *Fault) setParam(k, v string) error {
	switch k {
	case "retry-after":
		n, err := parseInt(k, v, 1, int64(maxRetryAfter/time.Second), "seconds")
		f.RetryAfter = time.Duration(n) * time.Second
		return err
	case "retry-after-ms":
		n, err := parseInt(k, v, 1, int64(maxRetryAfter/time.Millisecond), "milliseconds")
		f.RetryAfterPrecise = time.Duration(n) * time.Millisecond
		return err
	case "after":
		n, err := parseInt(k, v, 0, maxResetAfter, "events")
		f.After = int(n)
		return err
	case "tps":
		tps, err := strconv.ParseFloat(v, 64)
		if err != nil || !(tps > 0 && tps <= maxFaultTPS) {
			return fmt.Errorf("tps must be a number of tokens per second in (0,%d], got %q", maxFaultTPS, v)
		}
		f.TokensPerSecond = tps
	case "code":
		v = strings.ToLower(v)
		if v != codeFilter && v != codeContextLong {
			return fmt.Errorf("unknown code %q for fault 400; want %s or %s", v, codeFilter, codeContextLong)
		}
		f.Code = v
	}
	return nil
}

func parseInt(k, v string, lo, hi int64, unit string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be a whole number of %s in [%d,%d], got %q", k, unit, lo, hi, v)
	}
	return n, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// name is the KIND part of the fault's spec.
func (f *Fault) name() string {
	if f.Kind == FaultStatus {
		return strconv.Itoa(f.Status)
	}
	return f.Kind.String()
}

// String returns the fault as a spec that ParseFault reads back to an
// equal Fault.
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(f.name())
	if f.Probability != 0 && f.Probability != 1 {
		b.WriteByte(':')
		b.WriteString(strconv.FormatFloat(f.Probability, 'g', -1, 64))
	}
	var params []string
	switch f.Kind {
	case FaultStatus:
		if f.RetryAfter > 0 {
			params = append(params, "retry-after="+strconv.FormatInt(ceilDiv(f.RetryAfter, time.Second), 10))
		}
		if f.RetryAfterPrecise > 0 {
			params = append(params, "retry-after-ms="+strconv.FormatInt(ceilDiv(f.RetryAfterPrecise, time.Millisecond), 10))
		}
		if f.Code != "" {
			params = append(params, "code="+f.Code)
		}
	case FaultResetMidStream:
		if f.After != DefaultResetAfter {
			params = append(params, "after="+strconv.Itoa(f.After))
		}
	case FaultSlow:
		if f.TokensPerSecond != 0 && f.TokensPerSecond != DefaultSlowTokensPerSecond {
			params = append(params, "tps="+strconv.FormatFloat(f.TokensPerSecond, 'g', -1, 64))
		}
	}
	if len(params) > 0 {
		b.WriteByte(':')
		b.WriteString(strings.Join(params, ","))
	}
	return b.String()
}

// Validate reports whether a Fault built in code is one the Server can
// inject. Faults from ParseFault are always valid.
func (f Fault) Validate() error {
	switch {
	case f.Kind < FaultStatus || f.Kind > FaultSlow:
		return fmt.Errorf("unknown fault kind %d", f.Kind)
	case math.IsNaN(f.Probability) || f.Probability < 0 || f.Probability > 1:
		return fmt.Errorf("fault %s: probability must be in (0,1], got %v", f.name(), f.Probability)
	case f.Kind == FaultStatus && (f.Status < minFaultStatus || f.Status > maxFaultStatus):
		return fmt.Errorf("fault status %d is not an error; want 400-599", f.Status)
	case f.Code != "" && (f.Kind != FaultStatus || f.Status != statusBadReq || (f.Code != codeFilter && f.Code != codeContextLong)):
		return fmt.Errorf("fault %s: code %q is only for 400 (%s or %s)", f.name(), f.Code, codeFilter, codeContextLong)
	case f.RetryAfter < 0 || f.RetryAfterPrecise < 0 || f.After < 0 || f.TokensPerSecond < 0:
		return fmt.Errorf("fault %s: negative parameter", f.name())
	}
	return nil
}

// probability is the chance the fault fires, with the zero value meaning 1.
func (f *Fault) probability() float64 {
	if f.Probability == 0 {
		return 1
	}
	return f.Probability
}

func (f *Fault) slowTPS() float64 {
	if f.TokensPerSecond > 0 {
		return f.TokensPerSecond
	}
	return DefaultSlowTokensPerSecond
}

// ceilDiv divides a positive duration by unit, rounding up.
func ceilDiv(d, unit time.Duration) int64 {
	return int64((d + unit - 1) / unit)
}

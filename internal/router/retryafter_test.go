package router

import (
	"net/http"
	"testing"
	"time"
)

// retryAfterTestNow is the injected clock for date-form Retry-After values.
var retryAfterTestNow = time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC)

// retryAfterTestHeader builds a header from name, value pairs with Set, as a
// real response would have them (canonical keys).
func retryAfterTestHeader(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestRetryAfter(t *testing.T) {
	now := retryAfterTestNow
	date := func(d time.Duration, layout string) string { return now.Add(d).Format(layout) }
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		wantOK bool
	}{
		{"no headers", nil, 0, false},
		{"unrelated headers", retryAfterTestHeader("X-Ratelimit-Remaining-Tokens", "0"), 0, false},

		// retry-after-ms
		{"ms", retryAfterTestHeader("Retry-After-Ms", "5520"), 5520 * time.Millisecond, true},
		{"ms lower-case name set", retryAfterTestHeader("retry-after-ms", "20"), 20 * time.Millisecond, true},
		{"ms fractional", retryAfterTestHeader("Retry-After-Ms", "5520.5"), 5520500 * time.Microsecond, true},
		{"ms below one", retryAfterTestHeader("Retry-After-Ms", "0.25"), 250 * time.Microsecond, true},
		{"ms spaces", retryAfterTestHeader("Retry-After-Ms", " 100 "), 100 * time.Millisecond, true},
		{"ms beats seconds", retryAfterTestHeader("Retry-After", "6", "Retry-After-Ms", "5520"), 5520 * time.Millisecond, true},
		{"ms zero falls through", retryAfterTestHeader("Retry-After-Ms", "0", "Retry-After", "6"), 6 * time.Second, true},
		{"ms negative falls through", retryAfterTestHeader("Retry-After-Ms", "-5", "Retry-After", "6"), 6 * time.Second, true},
		{"ms garbage falls through", retryAfterTestHeader("Retry-After-Ms", "soon", "Retry-After", "6"), 6 * time.Second, true},
		{"ms rounding to zero is ignored", retryAfterTestHeader("Retry-After-Ms", "0.0000001"), 0, false},

		// Retry-After, seconds
		{"seconds", retryAfterTestHeader("Retry-After", "6"), 6 * time.Second, true},
		{"seconds fractional", retryAfterTestHeader("Retry-After", "1.5"), 1500 * time.Millisecond, true},
		{"seconds leading dot", retryAfterTestHeader("Retry-After", ".5"), 500 * time.Millisecond, true},
		{"azure daily quota honoured", retryAfterTestHeader("Retry-After", "86400"), 24 * time.Hour, true},
		{"exactly the cap", retryAfterTestHeader("Retry-After", "86460"), MaxRetryAfter, true},
		{"above the cap", retryAfterTestHeader("Retry-After", "86461"), MaxRetryAfter, true},
		{"absurd", retryAfterTestHeader("Retry-After", "99999999999999999999999999999"), MaxRetryAfter, true},
		{"zero", retryAfterTestHeader("Retry-After", "0"), 0, false},
		{"negative", retryAfterTestHeader("Retry-After", "-6"), 0, false},
		{"plus sign", retryAfterTestHeader("Retry-After", "+6"), 0, false},
		{"exponent", retryAfterTestHeader("Retry-After", "1e3"), 0, false},
		{"hex float", retryAfterTestHeader("Retry-After", "0x1p4"), 0, false},
		{"inf", retryAfterTestHeader("Retry-After", "Inf"), 0, false},
		{"nan", retryAfterTestHeader("Retry-After", "NaN"), 0, false},
		{"two dots", retryAfterTestHeader("Retry-After", "1.2.3"), 0, false},
		{"lone dot", retryAfterTestHeader("Retry-After", "."), 0, false},
		{"go duration is not a Retry-After", retryAfterTestHeader("Retry-After", "6s"), 0, false},
		{"empty", retryAfterTestHeader("Retry-After", ""), 0, false},

		// Retry-After, HTTP-date relative to the injected now
		{"date IMF-fixdate", retryAfterTestHeader("Retry-After", date(90*time.Second, http.TimeFormat)), 90 * time.Second, true},
		{"date RFC 850", retryAfterTestHeader("Retry-After", date(2*time.Minute, time.RFC850)), 2 * time.Minute, true},
		{"date ANSI C", retryAfterTestHeader("Retry-After", date(time.Hour, time.ANSIC)), time.Hour, true},
		{"date now", retryAfterTestHeader("Retry-After", date(0, http.TimeFormat)), 0, false},
		{"date past", retryAfterTestHeader("Retry-After", date(-time.Hour, http.TimeFormat)), 0, false},
		{"date far future capped", retryAfterTestHeader("Retry-After", date(30*24*time.Hour, http.TimeFormat)), MaxRetryAfter, true},
		{"date garbage", retryAfterTestHeader("Retry-After", "Fri, 99 Foo 2025 25:61:61 GMT"), 0, false},
		{"date past falls through to reset", retryAfterTestHeader("Retry-After", date(-time.Hour, http.TimeFormat), "X-Ratelimit-Reset-Requests", "1s"), time.Second, true},

		// x-ratelimit-reset-*
		{"reset requests", retryAfterTestHeader("X-Ratelimit-Reset-Requests", "1s"), time.Second, true},
		{"reset tokens", retryAfterTestHeader("X-Ratelimit-Reset-Tokens", "6m0s"), 6 * time.Minute, true},
		{"reset both takes the larger", retryAfterTestHeader("X-Ratelimit-Reset-Requests", "1s", "X-Ratelimit-Reset-Tokens", "6m0s"), 6 * time.Minute, true},
		{"reset both larger requests", retryAfterTestHeader("X-Ratelimit-Reset-Requests", "8.64s", "X-Ratelimit-Reset-Tokens", "20ms"), 8640 * time.Millisecond, true},
		{"reset ms", retryAfterTestHeader("X-Ratelimit-Reset-Tokens", "20ms"), 20 * time.Millisecond, true},
		{"reset compound", retryAfterTestHeader("X-Ratelimit-Reset-Tokens", "1h2m3.5s"), time.Hour + 2*time.Minute + 3500*time.Millisecond, true},
		{"reset fractional", retryAfterTestHeader("X-Ratelimit-Reset-Requests", "0.5s"), 500 * time.Millisecond, true},
		{"reset bare seconds", retryAfterTestHeader("X-Ratelimit-Reset-Requests", "30"), 30 * time.Second, true},
		{"reset zero", retryAfterTestHeader("X-Ratelimit-Reset-Requests", "0s"), 0, false},
		{"reset negative", retryAfterTestHeader("X-Ratelimit-Reset-Requests", "-1s"), 0, false},
		{"reset garbage", retryAfterTestHeader("X-Ratelimit-Reset-Requests", "soon"), 0, false},
		{"reset one garbage", retryAfterTestHeader("X-Ratelimit-Reset-Requests", "soon", "X-Ratelimit-Reset-Tokens", "2s"), 2 * time.Second, true},
		{"reset capped", retryAfterTestHeader("X-Ratelimit-Reset-Tokens", "48h"), MaxRetryAfter, true},
		{"Retry-After beats reset", retryAfterTestHeader("Retry-After", "6", "X-Ratelimit-Reset-Tokens", "6m0s"), 6 * time.Second, true},
		{"garbage Retry-After falls through to reset", retryAfterTestHeader("Retry-After", "later", "X-Ratelimit-Reset-Tokens", "6m0s"), 6 * time.Minute, true},
		{"all garbage", retryAfterTestHeader("Retry-After-Ms", "x", "Retry-After", "y", "X-Ratelimit-Reset-Requests", "z", "X-Ratelimit-Reset-Tokens", "w"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gotOK := RetryAfter(tt.header, now)
			if got != tt.want || gotOK != tt.wantOK {
				t.Errorf("RetryAfter(%v) = %v, %v; want %v, %v", tt.header, got, gotOK, tt.want, tt.wantOK)
			}
		})
	}
}

// TestRetryAfterKind checks that the body's say on which limit was hit picks
// the matching x-ratelimit-reset-* header, and that a missing one falls back.
func TestRetryAfterKind(t *testing.T) {
	both := retryAfterTestHeader("X-Ratelimit-Reset-Requests", "1s", "X-Ratelimit-Reset-Tokens", "6m0s")
	onlyRequests := retryAfterTestHeader("X-Ratelimit-Reset-Requests", "1s")
	tests := []struct {
		name   string
		header http.Header
		kind   retryAfterKind
		want   time.Duration
	}{
		{"tokens", both, retryAfterTokens, 6 * time.Minute},
		{"requests", both, retryAfterRequests, time.Second},
		{"either", both, retryAfterEither, 6 * time.Minute},
		{"tokens missing falls back", onlyRequests, retryAfterTokens, time.Second},
		{"explicit wins over kind", retryAfterTestHeader("Retry-After", "3", "X-Ratelimit-Reset-Tokens", "6m0s"), retryAfterTokens, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := retryAfterFor(tt.header, retryAfterTestNow, tt.kind)
			if got != tt.want || !ok {
				t.Errorf("retryAfterFor(%v, %d) = %v, %v; want %v, true", tt.header, tt.kind, got, ok, tt.want)
			}
		})
	}
}

func TestRetryAfterFromMessage(t *testing.T) {
	tests := []struct {
		msg    string
		want   time.Duration
		wantOK bool
	}{
		{"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-05-01-preview have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.", 6 * time.Second, true},
		{"Your requests to gpt-4.1-nano for gpt-4.1-nano in Sweden Central have exceeded the token rate limit for your current AIServices S0 pricing tier. This request was for ChatCompletions_Create under Azure OpenAI API version 2023-05-15. Please retry after 45 seconds.", 45 * time.Second, true},
		{"... Please retry after 86400 seconds. ...", 24 * time.Hour, true},
		{"Rate limit reached for gpt-4o in organization org-… on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000. Please try again in 2s. Visit https://platform.openai.com/account/rate-limits to learn more.", 2 * time.Second, true},
		{"Please try again in 20ms.", 20 * time.Millisecond, true},
		{"try again in 20ms", 20 * time.Millisecond, true},
		{"Please try again in 1.5s.", 1500 * time.Millisecond, true},
		{"Please try again in 0.5s", 500 * time.Millisecond, true},
		{"Please try again in 6m0s.", 6 * time.Minute, true},
		{"Please try again in 7h12m0s.", 7*time.Hour + 12*time.Minute, true},
		{"Please try again in 1h2m3.5s", time.Hour + 2*time.Minute + 3500*time.Millisecond, true},
		{"Rate limit is exceeded. Try again in 1 seconds.", time.Second, true},
		{"retry after 1 second", time.Second, true},
		{"retry after 2 minutes", 2 * time.Minute, true},
		{"retry after 1.5 minutes", 90 * time.Second, true},
		{"retry after 250 milliseconds", 250 * time.Millisecond, true},
		{"retry after 1 hour", time.Hour, true},
		{"PLEASE RETRY AFTER 3 SECONDS", 3 * time.Second, true},
		{"retry after 6seconds", 6 * time.Second, true},
		{"Please retry after 6", 6 * time.Second, true},
		{"Please retry after 6. Thanks", 6 * time.Second, true},
		{"Please retry after 6, thanks", 6 * time.Second, true},
		{"Please retry after   6   seconds", 6 * time.Second, true},
		{"Try again in 2S", 2 * time.Second, true},
		{"retry after some time, or retry after 5 seconds", 5 * time.Second, true},
		{"retry after 99999999999 seconds", MaxRetryAfter, true},
		{"try again in 48h", MaxRetryAfter, true},
		{"The server had an error while processing your request. Sorry about that!", 0, false},
		{"", 0, false},
		{"retry after", 0, false},
		{"retry after ", 0, false},
		{"retry after some time", 0, false},
		{"retry after 6 times", 0, false},
		{"retry after 0 seconds", 0, false},
		{"retry after -5 seconds", 0, false},
		{"try again in 2x", 0, false},
		{"try again in 1e9s", 0, false},
		{"<html><body>retry after 5 seconds</body></html>", 5 * time.Second, true},
	}
	for _, tt := range tests {
		got, gotOK := retryAfterFromMessage(tt.msg)
		if got != tt.want || gotOK != tt.wantOK {
			t.Errorf("retryAfterFromMessage(%q) = %v, %v; want %v, %v", tt.msg, got, gotOK, tt.want, tt.wantOK)
		}
	}
}

// retryAfterCheck fails t when d, ok break RetryAfter's contract.
func retryAfterCheck(t *testing.T, what string, d time.Duration, ok bool) {
	t.Helper()
	if d < 0 || d > MaxRetryAfter {
		t.Errorf("%s = %v, want within [0, %v]", what, d, MaxRetryAfter)
	}
	if ok != (d > 0) {
		t.Errorf("%s = %v, %v; want ok exactly when the wait is positive", what, d, ok)
	}
}

func FuzzRetryAfter(f *testing.F) {
	f.Add("5520", "6", "1s", "6m0s", retryAfterTestNow.Unix())
	f.Add("5520.5", "Sat, 01 Mar 2025 12:01:30 GMT", "", "", retryAfterTestNow.Unix())
	f.Add("", "86400", "", "", int64(0))
	f.Add("-1", "-1", "-1s", "1h2m3.5s", int64(-1))
	f.Add("1e309", "99999999999999999999999", "2562047h47m16.854775807s", "0.5s", int64(1<<62))
	f.Add("", "Please retry after 45 seconds.", "20ms", "30", int64(0))
	f.Add("", "try again in 6m0s", "", "", int64(0))
	f.Fuzz(func(t *testing.T, ms, ra, resetReq, resetTok string, nowUnix int64) {
		h := http.Header{}
		h.Set("Retry-After-Ms", ms)
		h.Set("Retry-After", ra)
		h.Set("X-Ratelimit-Reset-Requests", resetReq)
		h.Set("X-Ratelimit-Reset-Tokens", resetTok)
		now := time.Unix(nowUnix, 0)
		d, ok := RetryAfter(h, now)
		retryAfterCheck(t, "RetryAfter", d, ok)
		for _, kind := range []retryAfterKind{retryAfterRequests, retryAfterTokens} {
			d, ok := retryAfterFor(h, now, kind)
			retryAfterCheck(t, "retryAfterFor", d, ok)
		}
		d, ok = retryAfterFromMessage(ra)
		retryAfterCheck(t, "retryAfterFromMessage", d, ok)
	})
}

func BenchmarkRetryAfter(b *testing.B) {
	h := retryAfterTestHeader("Retry-After", "6", "Retry-After-Ms", "5520")
	b.ReportAllocs()
	for b.Loop() {
		RetryAfter(h, retryAfterTestNow)
	}
}

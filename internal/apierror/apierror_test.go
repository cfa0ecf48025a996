package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		detail     bool
		status     int
		body       string
		retryAfter string
	}{
		{
			name:   "all four fields, param null",
			err:    &Error{Status: http.StatusNotFound, Message: "no such route", Type: TypeInvalidRequest, Code: "unknown_route"},
			status: http.StatusNotFound,
			body:   `{"error":{"message":"no such route","type":"invalid_request_error","param":null,"code":"unknown_route"}}`,
		},
		{
			name:   "param string",
			err:    &Error{Status: http.StatusBadRequest, Message: "bad model", Type: TypeInvalidRequest, Param: "model", Code: "missing_model"},
			status: http.StatusBadRequest,
			body:   `{"error":{"message":"bad model","type":"invalid_request_error","param":"model","code":"missing_model"}}`,
		},
		{
			name:   "wrapped",
			err:    fmt.Errorf("context: %w", &Error{Status: http.StatusUnauthorized, Message: "no key", Type: TypeAuthentication, Code: "missing_api_key"}),
			status: http.StatusUnauthorized,
			body:   `{"error":{"message":"no key","type":"authentication_error","param":null,"code":"missing_api_key"}}`,
		},
		{
			name:       "retry after rounds up",
			err:        &Error{Status: http.StatusTooManyRequests, Message: "slow down", Type: TypeRateLimit, Code: "rate_limit_exceeded", RetryAfter: 1500 * time.Millisecond},
			status:     http.StatusTooManyRequests,
			body:       `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`,
			retryAfter: "2",
		},
		{
			name:       "retry after at least one second",
			err:        &Error{Status: http.StatusServiceUnavailable, Message: "busy", Type: TypeUpstream, Code: "no_deployment_available", RetryAfter: time.Millisecond},
			status:     http.StatusServiceUnavailable,
			body:       `{"error":{"message":"busy","type":"upstream_error","param":null,"code":"no_deployment_available"}}`,
			retryAfter: "1",
		},
		{
			name:       "whole seconds stay",
			err:        &Error{Status: http.StatusTooManyRequests, Message: "m", Type: TypeRateLimit, Code: "c", RetryAfter: 3 * time.Second},
			status:     http.StatusTooManyRequests,
			body:       `{"error":{"message":"m","type":"rate_limit_error","param":null,"code":"c"}}`,
			retryAfter: "3",
		},
		{
			name:   "not an Error is a 500 that hides the text",
			err:    errors.New("database password is hunter2"),
			status: http.StatusInternalServerError,
			body:   `{"error":{"message":"internal error; see the gateway log for the request id","type":"server_error","param":null,"code":"internal_error"}}`,
		},
		{
			name:   "detail",
			err:    &Error{Status: http.StatusBadRequest, Message: "Invalid query path.", Type: TypeInvalidRequest, Param: "query", Code: "invalid_query_path"},
			detail: true,
			status: http.StatusBadRequest,
			body:   `{"error":{"message":"Invalid query path.","type":"invalid_request_error","param":"query","code":"invalid_query_path"},"detail":"Invalid query path."}`,
		},
		{
			name:   "detail on a non-Error",
			err:    errors.New("boom"),
			detail: true,
			status: http.StatusInternalServerError,
			body:   `{"error":{"message":"internal error; see the gateway log for the request id","type":"server_error","param":null,"code":"internal_error"},"detail":"internal error; see the gateway log for the request id"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Encoding", "gzip")
			if tt.detail {
				WriteWithDetail(rec, tt.err)
			} else {
				Write(rec, tt.err)
			}
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			want := tt.body + "\n"
			if got := rec.Body.String(); got != want {
				t.Errorf("body\n%s\nwant\n%s", got, want)
			}
			h := rec.Header()
			if got := h.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if got := h.Get("Content-Length"); got != strconv.Itoa(len(want)) {
				t.Errorf("Content-Length %q, want %d", got, len(want))
			}
			if got := h.Get("Content-Encoding"); got != "" {
				t.Errorf("Content-Encoding %q, want none", got)
			}
			if got := h.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int64{
		0:                       1,
		time.Nanosecond:         1,
		time.Second:             1,
		time.Second + 1:         2,
		2500 * time.Millisecond: 3,
		time.Minute:             60,
	} {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

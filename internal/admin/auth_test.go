package admin_test

import (
	"net/http"
	"testing"
)

func TestAuth(t *testing.T) {
	e := newEnv(t, setup{})
	routes := []struct{ method, path string }{
		{"GET", "/admin/v1/deployments"},
		{"POST", "/admin/v1/deployments"},
		{"GET", "/admin/v1/deployments/x"},
		{"PATCH", "/admin/v1/deployments/x"},
		{"DELETE", "/admin/v1/deployments/x"},
		{"GET", "/admin/v1/routing"},
		{"PATCH", "/api/v1/management/modeldeployment/upsert"},
		{"GET", "/api/v1/management/modeldeployment/list/all"},
		{"POST", "/model/new"},
		{"POST", "/model/update"},
		{"POST", "/model/delete"},
		{"GET", "/model/info"},
		{"GET", "/v1/model/info"},
		{"GET", "/health"},
		{"GET", "/admin/v1/unknown"}, // no probing of paths without the token
	}
	const required = "admin token required: send Authorization: Bearer <admin token>"
	headers := []struct {
		name, header, message, code string
	}{
		{"missing", "", required, "missing_admin_token"},
		{"empty bearer", "Bearer ", required, "missing_admin_token"},
		{"other scheme", "Basic " + adminToken, required, "missing_admin_token"},
		{"wrong token", "Bearer not-the-token", "invalid admin token", "invalid_admin_token"},
		{"token with suffix", "Bearer " + adminToken + "x", "invalid admin token", "invalid_admin_token"},
	}
	for _, h := range headers {
		for _, rt := range routes {
			code, raw := e.doAs(rt.method, rt.path, `{}`, h.header)
			if code != http.StatusUnauthorized {
				t.Errorf("%s: %s %s: status %d, want 401", h.name, rt.method, rt.path, code)
				continue
			}
			got := decodeErr(t, raw)
			if got.Error.Message != h.message || got.Error.Type != "authentication_error" || got.Error.Code != h.code {
				t.Errorf("%s: %s %s: %+v; want %q, authentication_error, %s", h.name, rt.method, rt.path, got.Error, h.message, h.code)
			}
		}
	}
	// The scheme is case-insensitive.
	if code, raw := e.doAs("GET", "/admin/v1/deployments", nil, "bearer "+adminToken); code != http.StatusOK {
		t.Errorf("lower-case bearer: status %d, body %s", code, raw)
	}
	// Load balancers probe these without a token.
	for _, path := range []string{"/health/liveliness", "/health/liveness", "/health/readiness"} {
		if code, raw := e.doAs("GET", path, nil, ""); code != http.StatusOK {
			t.Errorf("GET %s without a token: status %d, body %s", path, code, raw)
		}
	}
	e.wantReloads(0)
}

package main

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
	"github.com/spillwayhq/spillway/internal/mock"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// TestLimitWindowsAcrossReplicas runs the key rpm and the event daily cap
// checks of TestReplicasShareLimits with the clock set to 18:00:00,
// 23:59:30 and 23:59:59.9 UTC: three gateways wired as `serve` wires them,
// each with its own Redis client and store connections, sharing one Redis
// and one PostgreSQL, and one clock the test moves. At each instant the
// limits hold exactly across the replicas, a refusal's Retry-After names
// the time to the boundary, and past the boundary a fresh window admits
// the limit again: no test depends on the hour it runs at.
func TestLimitWindowsAcrossReplicas(t *testing.T) {
	storeURL := postgresSchema(t)
	redisURL := testenv.Redis(t)
	up := httptest.NewServer(mock.New(mock.Options{Name: "up"}))
	t.Cleanup(up.Close)

	const admin, model = "sk-admin-windows", "gpt-4o-mini"
	cfg := &config.Config{
		Store:      storeURL,
		Redis:      redisURL,
		AdminToken: admin,
		Deployments: []config.Deployment{
			{ID: "up", Model: model, Class: config.ClassChat, Provider: config.ProviderOpenAI, Endpoint: up.URL + "/v1", APIKey: "k"},
		},
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)

	day := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	clock := limitstest.NewClock(day)
	var replicas []*app
	var bases []string
	for range 3 {
		a, err := newApp(context.Background(), cfg, secret, slog.New(slog.NewTextHandler(io.Discard, nil)), clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.handler)
		t.Cleanup(func() {
			srv.Close()
			a.close(context.Background())
			a.release()
		})
		replicas = append(replicas, a)
		bases = append(bases, srv.URL)
	}
	// poll is every replica's next revision poll, made now rather than
	// waited for: the change reaches them all.
	poll := func() {
		for _, a := range replicas {
			a.catalog.Tick(context.Background(), false)
		}
	}
	seconds := func(d time.Duration) string { return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10) }

	const rpm, rpmBurst, dailyCap, capBurst = 20, 50, 5, 15
	for i, at := range []time.Time{
		day.Add(18 * time.Hour),
		day.Add(24*time.Hour + 23*time.Hour + 59*time.Minute + 30*time.Second),
		day.Add(3*24*time.Hour - 100*time.Millisecond),
	} {
		t.Run(at.Format("15:04:05.0"), func(t *testing.T) {
			clock.Advance(at.Sub(clock.Now()))
			minuteLeft := at.Truncate(time.Minute).Add(time.Minute).Sub(at)
			dayLeft := at.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(at)

			status, k := call(t, http.MethodPost, bases[i%3]+"/admin/v1/keys", admin, map[string]any{"name": "rpm", "rpm": rpm})
			if status != http.StatusCreated {
				t.Fatalf("create key: %d %v", status, k)
			}
			key := k["key"].(string)
			status, ev := call(t, http.MethodPost, bases[(i+1)%3]+"/admin/v1/events", admin, map[string]any{
				"name": "Midnight hack", "start": at.Add(-time.Hour).Format(time.RFC3339), "end": at.Add(48 * time.Hour).Format(time.RFC3339),
				"time_zone": "UTC", "daily_request_cap": dailyCap, "active": true, "shared_code": "let-me-in",
			})
			if status != http.StatusCreated {
				t.Fatalf("create event: %d %v", status, ev)
			}
			status, reg := call(t, http.MethodPost, bases[(i+2)%3]+"/api/v1/attendee/event/"+ev["id"].(string)+"/register", "", map[string]any{
				"shared_code": "let-me-in", "attendee": "ann@example.com",
			})
			if status != http.StatusCreated {
				t.Fatalf("register: %d %v", status, reg)
			}
			attendee := reg["api_key"].(string)
			poll()

			// One window: exactly the limit, across the three.
			counts := burst(t, bases, key, model, rpmBurst, 6)
			if got := counts[http.StatusOK]; got != rpm || counts[http.StatusTooManyRequests] != rpmBurst-rpm {
				t.Errorf("rpm %d: statuses %v of %d across 3 replicas, want exactly %d admitted and the rest 429", rpm, counts, rpmBurst, rpm)
			}
			if s, after := retryAfter(t, bases[0], key, model); s != http.StatusTooManyRequests || after != seconds(minuteLeft) {
				t.Errorf("rpm refusal: status %d, Retry-After %q; want 429, %s (to the minute's end)", s, after, seconds(minuteLeft))
			}
			counts = burst(t, bases, attendee, model, capBurst, 6)
			if got := counts[http.StatusOK]; got != dailyCap {
				t.Errorf("daily cap %d: statuses %v of %d across 3 replicas, want exactly %d admitted", dailyCap, counts, capBurst, dailyCap)
			}
			if s, after := retryAfter(t, bases[1], attendee, model); s != http.StatusTooManyRequests || after != seconds(dayLeft) {
				t.Errorf("daily cap refusal: status %d, Retry-After %q; want 429, %s (to UTC midnight)", s, after, seconds(dayLeft))
			}

			// The next minute: the rpm window is fresh; the day may not be.
			clock.Advance(minuteLeft)
			if got := burst(t, bases, key, model, rpmBurst, 6)[http.StatusOK]; got != rpm {
				t.Errorf("the next minute admitted %d of %d, want %d", got, rpmBurst, rpm)
			}
			wantDaily := 0
			if minuteLeft == dayLeft {
				wantDaily = dailyCap
			}
			if got := burst(t, bases, attendee, model, capBurst, 6)[http.StatusOK]; got != wantDaily {
				t.Errorf("the next minute, %v before midnight: the attendee got %d more, want %d", dayLeft-minuteLeft, got, wantDaily)
			}
			if minuteLeft < dayLeft {
				clock.Advance(dayLeft - minuteLeft)
				if got := burst(t, bases, attendee, model, capBurst, 6)[http.StatusOK]; got != dailyCap {
					t.Errorf("after midnight the attendee got %d of %d, want a fresh cap of %d", got, capBurst, dailyCap)
				}
			}
		})
	}
}

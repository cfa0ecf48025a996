package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The governed gateway is the path production runs: a stored key with rpm
// and tpm limits (as an operator creates with POST /admin/v1/keys) and a
// deployment with a tpm limit, counted in Redis when bench is given one.
// Its limits are far above what the run can reach, so every request is
// admitted and counted: the run measures what counting costs, not what
// refusing does.
const (
	governedRPM = 1 << 40
	governedTPM = 1 << 50
)

// GovernedConfig is the config file of the governed gateway: one Azure
// deployment of model on upstream with a tpm limit, an admin token to
// create the key with, its own SQLite store in dir, and Redis at redisURL
// ("" counts in memory).
func GovernedConfig(upstream, model, deployment, upstreamKey, adminToken, dir, redisURL string) []byte {
	if deployment == "" {
		deployment = model
	}
	q := strconv.Quote
	redisLine := ""
	if redisURL != "" {
		redisLine = "redis: " + q(redisURL) + "\n"
	}
	return fmt.Appendf(nil, `# written by spillway bench: the governed path
listen: 127.0.0.1:0
store: %s
admin_token: %s
%srouting:
  retries: 2
deployments:
  - id: bench-governed-1
    model: %s
    class: openai-chat
    provider: azure
    endpoint: %s
    deployment: %s
    api_version: %s
    api_key: %s
    tpm: %d
`, q("sqlite://"+filepath.Join(dir, "governed.db")), q(adminToken), redisLine, q(model), q(upstream), q(deployment), q(DefaultAPIVersion), q(upstreamKey), int64(governedTPM))
}

// startGoverned starts the governed gateway and creates its stored key.
func (s *Spawned) startGoverned(ctx context.Context, exe, upstream string, o SpawnOptions) error {
	admin := "sk-admin-" + rand.Text()
	path := filepath.Join(s.dir, "governed.yaml")
	if err := os.WriteFile(path, GovernedConfig(upstream, o.Model, o.Deployment, o.UpstreamKey, admin, s.dir, o.Redis), 0o600); err != nil {
		return err
	}
	g, err := s.start(ctx, "governed gateway", exe, []string{"serve", "--config", path, "--listen", "127.0.0.1:0", "--log-level", "warn"}, "serving on")
	if err != nil {
		return err
	}
	key, err := createKey(ctx, g.url, admin)
	if err != nil {
		return fmt.Errorf("governed gateway: %w", err)
	}
	s.Governed, s.GovernedKey, s.GovernedPID = g.url, key, g.pid()
	s.GovernedLimiter = "memory"
	if o.Redis != "" {
		s.GovernedLimiter = "redis"
		if s.RedisCPU, err = redisCPU(o.Redis); err != nil {
			return err
		}
	}
	return nil
}

// createKey creates the stored key with rpm and tpm through the gateway's
// management API and returns it.
func createKey(ctx context.Context, base, adminToken string) (string, error) {
	body, _ := json.Marshal(map[string]any{"name": "bench-governed", "rpm": governedRPM, "tpm": governedTPM})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/admin/v1/keys", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("creating its key: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Key string `json:"key"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated || out.Key == "" {
		return "", fmt.Errorf("creating its key: status %d, %v", resp.StatusCode, err)
	}
	return out.Key, nil
}

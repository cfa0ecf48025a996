package limits

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter whose counters live in Redis, so every replica sharing
// the client's database and the prefix enforces one limit together.
//
// Each counter is one Redis string named "<prefix><key>:<window ms>:<window
// index>", updated by a Lua script so the check and the increment are one
// atomic step (EVALSHA, falling back to EVAL when the script is not cached).
// Only one key is touched per call, so it works on Redis Cluster too.
//
// The window is chosen from the caller's clock (the injected now), never
// from Redis's TIME: the replicas' clocks must be NTP-synced, because a
// replica whose clock is off counts a request into a neighbouring window
// around each boundary. Keys expire one window after their window ends.
//
// Redis's errors are returned wrapped; wrap a Redis limiter in a Fallback to
// keep serving through an outage. Give the client short dial and read
// timeouts: every limited request waits for it.
type Redis struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ Limiter = (*Redis)(nil)

// takeScript admits ARGV[2] units under the limit ARGV[1] and returns
// {allowed (0 or 1), count after the call}. ARGV[3] is the key's TTL in ms.
var takeScript = redis.NewScript(`
local limit = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n + cost > limit then
	return {0, n}
end
if cost > 0 then
	n = redis.call('INCRBY', KEYS[1], cost)
	redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {1, n}
`)

// adjustScript adds ARGV[1] to the count, not below zero, and returns the
// new count. ARGV[2] is the key's TTL in ms.
var adjustScript = redis.NewScript(`
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n < 0 then
	n = 0
	redis.call('SET', KEYS[1], 0)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
`)

// NewRedis returns a limiter storing its counters through client under keys
// starting with prefix (e.g. "spillway:limits:"), reading the time from now
// (time.Now when nil). The caller owns client and closes it.
func NewRedis(client redis.UniversalClient, prefix string, now func() time.Time) *Redis {
	if now == nil {
		now = time.Now
	}
	return &Redis{client: client, prefix: prefix, now: now}
}

// Take implements Limiter.
func (r *Redis) Take(ctx context.Context, key string, limit int64, window time.Duration, cost int64) (Decision, error) {
	if err := checkTake(limit, window, cost); err != nil {
		return Decision{}, err
	}
	now := r.now()
	w := windowAt(now, window)
	res, err := takeScript.Run(ctx, r.client, []string{r.counterKey(key, w)}, limit, cost, ttl(now, w)).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("limits: redis take %q: %w", key, err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("limits: redis take %q: script returned %v", key, res)
	}
	return decide(res[0] == 1, limit, res[1], now, w), nil
}

// Adjust implements Limiter.
func (r *Redis) Adjust(ctx context.Context, key string, window time.Duration, delta int64) error {
	if err := checkAdjust(window); err != nil {
		return err
	}
	if delta == 0 {
		return nil
	}
	now := r.now()
	w := windowAt(now, window)
	if err := adjustScript.Run(ctx, r.client, []string{r.counterKey(key, w)}, delta, ttl(now, w)).Err(); err != nil {
		return fmt.Errorf("limits: redis adjust %q: %w", key, err)
	}
	return nil
}

// counterKey returns the Redis key of key's counter in window w.
func (r *Redis) counterKey(key string, w window) string {
	b := make([]byte, 0, len(r.prefix)+len(key)+42)
	b = append(b, r.prefix...)
	b = append(b, key...)
	b = append(b, ':')
	b = strconv.AppendInt(b, w.ms, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, w.index, 10)
	return string(b)
}

// ttl keeps a counter until one whole window after its own ends, so a
// replica whose clock lags by less than a window still finds it. It is
// relative, so Redis's own clock never decides which window counts.
func ttl(now time.Time, w window) int64 {
	return max(1, w.end().Sub(now).Milliseconds()) + w.ms
}

package limits

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter whose counters live in Redis, so every replica sharing
// the client's database and the prefix enforces one limit together.
//
// Each counter is one Redis string named "<prefix>{l}<key>:<window
// ms>:<window index>", updated by a Lua script so the check and the
// increment are one atomic step (EVALSHA, falling back to EVAL when the
// script is not cached). TakeAll checks all of a request's limits in one
// script; the hash tag {l} puts every counter in one Redis Cluster slot so
// it may, which also means the counters live on one node of a cluster (a
// few small strings per key and deployment; one node's load).
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

	// The batcher (batch.go): queue hands calls to Run while running;
	// stopped is closed when Run has returned.
	queue   chan *scriptCall
	running atomic.Bool
	stopped chan struct{}
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
	return &Redis{client: client, prefix: prefix, now: now, queue: make(chan *scriptCall), stopped: make(chan struct{})}
}

// Take implements Limiter.
func (r *Redis) Take(ctx context.Context, key string, limit int64, window time.Duration, cost int64) (Decision, error) {
	if err := checkTake(limit, window, cost); err != nil {
		return Decision{}, err
	}
	now := r.now()
	w := windowAt(now, window)
	res, err := r.run(ctx, takeScript, []string{r.counterKey(key, w)}, limit, cost, ttl(now, w)).Int64Slice()
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
	if err := r.run(ctx, adjustScript, []string{r.counterKey(key, w)}, delta, ttl(now, w)).Err(); err != nil {
		return fmt.Errorf("limits: redis adjust %q: %w", key, err)
	}
	return nil
}

// hashTag is in every counter's name: Redis Cluster hashes only what is
// between the braces, so all counters share a slot and one script may
// touch any of them.
const hashTag = "{l}"

// counterKey returns the Redis key of key's counter in window w.
func (r *Redis) counterKey(key string, w window) string {
	return string(appendCounterKey(make([]byte, 0, len(r.prefix)+len(hashTag)+len(key)+42), r.prefix, key, w))
}

// appendCounterKey appends the name of key's counter in window w under
// prefix: the one format every counter's name has.
func appendCounterKey(b []byte, prefix, key string, w window) []byte {
	b = append(b, prefix...)
	b = append(b, hashTag...)
	b = append(b, key...)
	b = append(b, ':')
	b = strconv.AppendInt(b, w.ms, 10)
	b = append(b, ':')
	return strconv.AppendInt(b, w.index, 10)
}

// keyBuilder builds several counters' names in one buffer, so that they
// cost one string allocation together rather than one each.
type keyBuilder struct {
	buf  []byte
	ends []int
	// small backing arrays for the usual request's few counters
	bufArr  [512]byte
	endsArr [8]int
}

// add appends the name of key's counter in window w under prefix.
func (kb *keyBuilder) add(prefix, key string, w window) {
	if kb.buf == nil {
		kb.buf, kb.ends = kb.bufArr[:0], kb.endsArr[:0]
	}
	kb.buf = appendCounterKey(kb.buf, prefix, key, w)
	kb.ends = append(kb.ends, len(kb.buf))
}

// keys returns the names added, as substrings of one string.
func (kb *keyBuilder) keys() []string {
	all := string(kb.buf)
	out := make([]string, len(kb.ends))
	start := 0
	for i, end := range kb.ends {
		out[i], start = all[start:end], end
	}
	return out
}

// packArgs appends vs to b, comma-separated: a script's numbers for all
// its counters in one argument (go-redis boxes each argument apart).
func packArgs(b []byte, vs ...int64) []byte {
	for _, v := range vs {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return b
}

// ttl keeps a counter until one whole window after its own ends, so a
// replica whose clock lags by less than a window still finds it. It is
// relative, so Redis's own clock never decides which window counts.
func ttl(now time.Time, w window) int64 {
	return max(1, w.end().Sub(now).Milliseconds()) + w.ms
}

// takeAllScript is takeScript for several counters at once, all or none:
// KEYS are the counters; ARGV[1] holds limit, cost and TTL (ms) for each,
// all comma-separated in one string (packArgs: one argument to build, not
// three per counter). It returns {all taken (0 or 1), count of each
// counter after the call}.
var takeAllScript = redis.NewScript(`
local a = {}
for v in string.gmatch(ARGV[1], '[^,]+') do
	a[#a+1] = tonumber(v)
end
local n = {}
local all = 1
for i = 1, #KEYS do
	n[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
	if n[i] + a[3*i-1] > a[3*i-2] then
		all = 0
	end
end
local out = {all}
for i = 1, #KEYS do
	local cost = a[3*i-1]
	if all == 1 and cost > 0 then
		n[i] = redis.call('INCRBY', KEYS[i], cost)
		redis.call('PEXPIRE', KEYS[i], a[3*i])
	end
	out[i+1] = n[i]
end
return out
`)

// TakeAll implements Multi in one script call: one round trip whatever the
// number of limits. Every counter carries the same hash tag, so the
// script's keys share a Redis Cluster slot.
func (r *Redis) TakeAll(ctx context.Context, ls []Limit, out []Decision) error {
	if len(out) != len(ls) {
		return fmt.Errorf("%w: %d decisions for %d limits", ErrInvalid, len(out), len(ls))
	}
	if err := checkAll(ls); err != nil {
		return err
	}
	if len(ls) == 0 {
		return nil
	}
	now := r.now()
	var kb keyBuilder
	var ab []byte
	for _, x := range ls {
		w := windowAt(now, x.Window)
		kb.add(r.prefix, x.Key, w)
		ab = packArgs(ab, x.Limit, x.Cost, ttl(now, w))
	}
	res, err := r.run(ctx, takeAllScript, kb.keys(), string(ab)).Int64Slice()
	if err != nil {
		return fmt.Errorf("limits: redis take of %d limits: %w", len(ls), err)
	}
	if len(res) != len(ls)+1 {
		return fmt.Errorf("limits: redis take of %d limits: script returned %v", len(ls), res)
	}
	all := res[0] == 1
	for i, x := range ls {
		n := res[i+1]
		fits := all || n+x.Cost <= x.Limit
		out[i] = decide(fits, x.Limit, n, now, windowAt(now, x.Window))
	}
	return nil
}

// adjustAllScript is adjustScript for several counters at once: KEYS are
// the counters, ARGV[1] holds delta and TTL (ms) for each, packed as
// takeAllScript's.
var adjustAllScript = redis.NewScript(`
local a = {}
for v in string.gmatch(ARGV[1], '[^,]+') do
	a[#a+1] = v
end
for i = 1, #KEYS do
	local n = redis.call('INCRBY', KEYS[i], a[2*i-1])
	if n < 0 then
		redis.call('SET', KEYS[i], 0)
	end
	redis.call('PEXPIRE', KEYS[i], a[2*i])
end
return #KEYS
`)

// AdjustAll implements MultiAdjuster in one script call: one round trip
// for all the corrections (every counter carries the hash tag). A
// correction of a window that has ended is made all the same, in that
// window's counter: a replica whose clock lags may still count there.
func (r *Redis) AdjustAll(ctx context.Context, as []Adjustment) error {
	n := 0
	for _, a := range as {
		if err := checkAdjust(a.Window); err != nil {
			return err
		}
		if a.Delta != 0 {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	now := r.now()
	var kb keyBuilder
	var ab []byte
	for _, a := range as {
		if a.Delta == 0 {
			continue
		}
		w := a.windowOf(now)
		kb.add(r.prefix, a.Key, w)
		ab = packArgs(ab, a.Delta, ttl(now, w))
	}
	if err := r.run(ctx, adjustAllScript, kb.keys(), string(ab)).Err(); err != nil {
		return fmt.Errorf("limits: redis adjust of %d counts: %w", n, err)
	}
	return nil
}

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

// NewRedis returns a limiter storing its counters through client under keys
// starting with prefix (e.g. "spillway:limits:"), reading the time from now
// (time.Now when nil). The caller owns client and closes it.
func NewRedis(client redis.UniversalClient, prefix string, now func() time.Time) *Redis {
	if now == nil {
		now = time.Now
	}
	return &Redis{client: client, prefix: prefix, now: now, queue: make(chan *scriptCall), stopped: make(chan struct{})}
}

// Take implements Limiter: TakeAll of one.
func (r *Redis) Take(ctx context.Context, key string, limit int64, window time.Duration, cost int64) (Decision, error) {
	var out [1]Decision
	err := r.TakeAll(ctx, []Limit{{Key: key, Limit: limit, Window: window, Cost: cost}}, out[:])
	return out[0], err
}

// Adjust implements Limiter: AdjustAll of one.
func (r *Redis) Adjust(ctx context.Context, key string, window time.Duration, delta int64) error {
	return r.AdjustAll(ctx, []Adjustment{{Key: key, Window: window, Delta: delta}})
}

// hashTag is in every counter's name: Redis Cluster hashes only what is
// between the braces, so all counters share a slot and one script may
// touch any of them.
const hashTag = "{l}"

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

// ttl keeps a counter until one whole window after its own ends, so a
// replica whose clock lags by less than a window still finds it. It is
// relative, so Redis's own clock never decides which window counts.
func ttl(now time.Time, w window) int64 {
	return max(1, w.end().Sub(now).Milliseconds()) + w.ms
}

// The scripts take their numbers as ARGV, several per counter in
// KEYS' order. A counter gets its TTL when a script creates it (its
// count is then the script's own increment), once: its expiry is one
// window after its window's end whoever sets it, so an existing
// counter's is left as it is.

// takeAllScript takes a cost from every counter, all or none: ARGV holds
// limit, cost and TTL (ms) of each. It returns {all taken (0 or 1), count
// of each counter after the call}.
var takeAllScript = newScript(`
local n = redis.call('MGET', unpack(KEYS))
local all = 1
for i = 1, #KEYS do
	n[i] = tonumber(n[i] or '0')
	if n[i] + tonumber(ARGV[3*i-1]) > tonumber(ARGV[3*i-2]) then
		all = 0
	end
end
local out = {all}
for i = 1, #KEYS do
	local cost = tonumber(ARGV[3*i-1])
	if all == 1 and cost > 0 then
		n[i] = redis.call('INCRBY', KEYS[i], cost)
		if n[i] == cost then
			redis.call('PEXPIRE', KEYS[i], ARGV[3*i])
		end
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
	c := newCounterCall(len(ls), 3)
	var namesArr [512]byte
	var endsArr [callCounters]int
	names, ends := namesArr[:0], endsArr[:0]
	for _, x := range ls {
		w := windowAt(now, x.Window)
		names = appendCounterKey(names, r.prefix, x.Key, w)
		ends = append(ends, len(names))
		c.nums = append(c.nums, x.Limit, x.Cost, ttl(now, w))
	}
	c.setKeys(string(names), ends)
	cmd := redis.NewIntSliceCmd(ctx, takeAllScript.evalArgs(c.args, c.keys, c.nums)...)
	cmd.SetFirstKeyPos(3)
	done := r.process(ctx, takeAllScript, cmd)
	if err := done.Err(); err != nil {
		return fmt.Errorf("limits: redis take of %d limits: %w", len(ls), err)
	}
	res := done.(*redis.IntSliceCmd).Val()
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

// adjustAllScript adds a delta to each counter, not below zero: ARGV
// holds delta and TTL (ms) of each. It returns the number of counters.
var adjustAllScript = newScript(`
for i = 1, #KEYS do
	local d = tonumber(ARGV[2*i-1])
	local n = redis.call('INCRBY', KEYS[i], d)
	if n < 0 then
		redis.call('SET', KEYS[i], 0, 'PX', ARGV[2*i])
	elseif n == d then
		redis.call('PEXPIRE', KEYS[i], ARGV[2*i])
	end
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
	c := newCounterCall(n, 2)
	var namesArr [512]byte
	var endsArr [callCounters]int
	names, ends := namesArr[:0], endsArr[:0]
	for _, a := range as {
		if a.Delta == 0 {
			continue
		}
		w := a.windowOf(now)
		names = appendCounterKey(names, r.prefix, a.Key, w)
		ends = append(ends, len(names))
		c.nums = append(c.nums, a.Delta, ttl(now, w))
	}
	c.setKeys(string(names), ends)
	cmd := redis.NewIntCmd(ctx, adjustAllScript.evalArgs(c.args, c.keys, c.nums)...)
	cmd.SetFirstKeyPos(3)
	if err := r.process(ctx, adjustAllScript, cmd).Err(); err != nil {
		return fmt.Errorf("limits: redis adjust of %d counts: %w", n, err)
	}
	return nil
}

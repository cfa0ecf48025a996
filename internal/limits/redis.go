package limits

import (
	"context"
	"fmt"
	"strconv"
	"sync"
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

	// batch queues calls for Run (batch.go).
	batch batcher
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter storing its counters through client under keys
// starting with prefix (e.g. "spillway:limits:"), reading the time from now
// (time.Now when nil). The caller owns client and closes it.
func NewRedis(client redis.UniversalClient, prefix string, now func() time.Time) *Redis {
	if now == nil {
		now = time.Now
	}
	return &Redis{client: client, prefix: prefix, now: now, batch: batcher{kick: make(chan struct{}, 1)}}
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

// takeBatchScript takes the costs of a batch of TakeAll calls, each all
// or none, in order, as if each were its own script: KEYS are the
// batch's counters, each once; ARGV holds, for each of them, the lowest
// limit a call gives it, the sum of the calls' costs and its TTL (ms),
// then one more argument, the calls: for each, its number of counters m
// and m times the counter's place in KEYS, its limit and its cost, as
// decimal numbers each followed by a space. The calls are one argument,
// not one per number, because only the second case below reads them:
// Redis makes a Lua string of every argument before the script starts,
// and go-redis frames each on the wire, which for a batch of ten requests
// was ninety numbers nobody read when they all fit.
//
// When every counter has room for the whole batch's costs, every call
// fits, whatever its order: the script takes the sums, one INCRBY a
// counter, and returns {1, count of each counter before}; the caller
// works out each call's counts after it. Otherwise it goes call by call,
// and returns {0, then for each call: taken (0 or 1), count of each of
// its counters after it}. A batch of one call is the same script: its
// first case admits it, its second refuses it.
var takeBatchScript = newScript(`
local k = #KEYS
local n = redis.call('MGET', unpack(KEYS))
local fits = 1
for i = 1, k do
	n[i] = tonumber(n[i] or '0')
	if n[i] + tonumber(ARGV[3*i-1]) > tonumber(ARGV[3*i-2]) then
		fits = 0
	end
end
if fits == 1 then
	for i = 1, k do
		local cost = tonumber(ARGV[3*i-1])
		if cost > 0 and redis.call('INCRBY', KEYS[i], ARGV[3*i-1]) == cost then
			redis.call('PEXPIRE', KEYS[i], ARGV[3*i])
		end
	end
	table.insert(n, 1, 1)
	return n
end
local before = {}
for i = 1, k do
	before[i] = n[i]
end
local c = {}
for x in string.gmatch(ARGV[3*k+1], '%d+') do
	c[#c+1] = tonumber(x)
end
local out = {0}
local p = 1
while p <= #c do
	local m = c[p]
	local all = 1
	for q = p + 1, p + 3*m, 3 do
		if n[c[q]] + c[q+2] > c[q+1] then
			all = 0
		end
	end
	out[#out+1] = all
	for q = p + 1, p + 3*m, 3 do
		local i = c[q]
		if all == 1 then
			n[i] = n[i] + c[q+2]
		end
		out[#out+1] = n[i]
	end
	p = p + 1 + 3*m
end
for i = 1, k do
	local d = n[i] - before[i]
	if d > 0 and redis.call('INCRBY', KEYS[i], d) == d then
		redis.call('PEXPIRE', KEYS[i], ARGV[3*i])
	end
end
return out
`)

// TakeAll implements Multi in one script call: one round trip whatever the
// number of limits, shared with the other calls of its batch while Run is
// running. Every counter carries the same hash tag, so the script's keys
// share a Redis Cluster slot.
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
	tc := r.newTake(ctx, ls, now)
	if err := r.take(ctx, tc); err != nil {
		return fmt.Errorf("limits: redis take of %d limits: %w", len(ls), err)
	}
	tc.decide(ls, out, now)
	return nil
}

// newTake returns the call taking ls at now.
func (r *Redis) newTake(ctx context.Context, ls []Limit, now time.Time) *takeCall {
	tc := newTakeCall(ctx, len(ls))
	var namesArr [512]byte
	var endsArr [callCounters]int
	names, ends := namesArr[:0], endsArr[:0]
	for i, x := range ls {
		w := windowAt(now, x.Window)
		names = appendCounterKey(names, r.prefix, x.Key, w)
		ends = append(ends, len(names))
		tc.limits[i], tc.costs[i], tc.ttls[i] = x.Limit, x.Cost, ttl(now, w)
	}
	splitNames(tc.keys, string(names), ends)
	return tc
}

// take sends tc through the batcher while Run is running, else alone,
// and returns once it is answered (tc.all, tc.counts) or ctx ends.
func (r *Redis) take(ctx context.Context, tc *takeCall) error {
	if r.queued(&tc.scriptCall) {
		select {
		case <-tc.done:
			return tc.err
		case <-ctx.Done():
			// As process: the batcher still owns tc, and may yet count it.
			return ctx.Err()
		}
	}
	tb := takeBatches.Get().(*takeBatch)
	tb.calls = append(tb.calls, tc)
	tb.answer(direct(ctx, r.client, takeBatchScript, tb.command(ctx)))
	tb.reset()
	takeBatches.Put(tb)
	return tc.err
}

// takeBatches are the batches of one call that TakeAll sends itself
// while Run is not running.
var takeBatches = sync.Pool{New: func() any { return new(takeBatch) }}

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
	splitNames(c.keys, string(names), ends)
	cmd := redis.NewIntCmd(ctx, adjustAllScript.evalArgs(c.args, c.keys, c.nums)...)
	cmd.SetFirstKeyPos(3)
	if err := r.process(ctx, adjustAllScript, cmd).Err(); err != nil {
		return fmt.Errorf("limits: redis adjust of %d counts: %w", n, err)
	}
	return nil
}

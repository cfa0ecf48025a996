package limits

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// takeCall is one TakeAll on its way to Redis: its counters' names,
// limits, costs and TTLs, and once answered whether it was taken and each
// counter's count, in one allocation for up to callCounters counters.
type takeCall struct {
	scriptCall
	keys                []string
	limits, costs, ttls []int64
	// idx is each counter's place in its batch's KEYS.
	idx []int

	// The answer, written by whoever sends the batch before done closes.
	all    bool
	counts []int64
	err    error

	keysArr                                 [callCounters]string
	limitsArr, costsArr, ttlsArr, countsArr [callCounters]int64
	idxArr                                  [callCounters]int
}

func newTakeCall(ctx context.Context, n int) *takeCall {
	c := &takeCall{scriptCall: scriptCall{ctx: ctx, script: takeBatchScript}}
	c.take = c
	if n <= callCounters {
		c.keys, c.idx = c.keysArr[:n], c.idxArr[:n]
		c.limits, c.costs, c.ttls, c.counts = c.limitsArr[:n], c.costsArr[:n], c.ttlsArr[:n], c.countsArr[:n]
	} else {
		c.keys, c.idx = make([]string, n), make([]int, n)
		c.limits, c.costs, c.ttls, c.counts = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	}
	return c
}

// decide writes the decisions of taking ls at now, answered, to out.
func (c *takeCall) decide(ls []Limit, out []Decision, now time.Time) {
	for i, x := range ls {
		n := c.counts[i]
		fits := c.all || n+x.Cost <= x.Limit
		out[i] = decide(fits, x.Limit, n, now, windowAt(now, x.Window))
	}
}

// takeBatch turns a batch of takeCalls into one call of takeBatchScript
// and hands each its answer. Whoever sends a batch owns it; it is reused.
type takeBatch struct {
	calls []*takeCall
	keys  []string
	// index finds a counter's place in keys once there are more than
	// linearKeys; empty until then.
	index map[string]int
	nums  []int64
	// packed is the script's last argument: each call's numbers, written
	// out (see takeBatchScript).
	packed []byte
	args   []any
}

// linearKeys is how many counters a batch looks through one by one before
// it indexes them: a request's few, the same few for many requests of
// one key.
const linearKeys = 16

func (tb *takeBatch) reset() {
	clear(tb.calls)
	clear(tb.keys)
	clear(tb.args)
	clear(tb.index)
	tb.calls, tb.keys, tb.nums, tb.args = tb.calls[:0], tb.keys[:0], tb.nums[:0], tb.args[:0]
	tb.packed = tb.packed[:0]
}

// find returns name's place in keys, if it is there.
func (tb *takeBatch) find(name string) (int, bool) {
	if len(tb.keys) <= linearKeys {
		for i, k := range tb.keys {
			if k == name {
				return i, true
			}
		}
		return 0, false
	}
	if len(tb.index) == 0 {
		if tb.index == nil {
			tb.index = make(map[string]int)
		}
		for i, k := range tb.keys {
			tb.index[k] = i
		}
	}
	i, ok := tb.index[name]
	return i, ok
}

// command returns the script call of tb's calls: see takeBatchScript for
// its arguments. They stay in tb, unchanged until reset.
func (tb *takeBatch) command(ctx context.Context) *redis.IntSliceCmd {
	// Each counter once: the lowest limit it is given and the sum of its
	// costs, then each call's own.
	for _, c := range tb.calls {
		for j, name := range c.keys {
			i, ok := tb.find(name)
			if !ok {
				i = len(tb.keys)
				tb.keys = append(tb.keys, name)
				if len(tb.index) > 0 {
					tb.index[name] = i
				}
				tb.nums = append(tb.nums, c.limits[j], 0, c.ttls[j])
			}
			tb.nums[3*i] = min(tb.nums[3*i], c.limits[j])
			tb.nums[3*i+1] += c.costs[j]
			c.idx[j] = i
		}
	}
	for _, c := range tb.calls {
		tb.packed = appendNum(tb.packed, int64(len(c.keys)))
		for j, i := range c.idx {
			tb.packed = appendNum(tb.packed, int64(i+1))
			tb.packed = appendNum(tb.packed, c.limits[j])
			tb.packed = appendNum(tb.packed, c.costs[j])
		}
	}
	tb.args = takeBatchScript.evalArgs(tb.args, tb.keys, tb.nums)
	tb.args = append(tb.args, tb.packed) // one slice header boxed a batch
	cmd := redis.NewIntSliceCmd(ctx, tb.args...)
	cmd.SetFirstKeyPos(3)
	return cmd
}

// appendNum appends n and a space: one number of the calls' argument.
// Limits, costs and places are never negative (checkAll), so the script
// reads them as runs of digits.
func appendNum(b []byte, n int64) []byte {
	return append(strconv.AppendInt(b, n, 10), ' ')
}

// answer hands each call its part of cmd's answer, or cmd's error.
func (tb *takeBatch) answer(cmd redis.Cmder) {
	err := cmd.Err()
	if err == nil {
		if c, ok := cmd.(*redis.IntSliceCmd); ok {
			err = tb.spread(c.Val())
		} else {
			err = errors.New("script answered no integers")
		}
	}
	if err != nil {
		for _, c := range tb.calls {
			c.err = err
		}
	}
}

// spread hands out res, takeBatchScript's answer.
func (tb *takeBatch) spread(res []int64) error {
	if len(res) > 0 && res[0] == 1 {
		// All taken: res holds each counter's count before the batch.
		if len(res) != 1+len(tb.keys) {
			return fmt.Errorf("script returned %d counts for %d counters", len(res)-1, len(tb.keys))
		}
		counts := res[1:]
		for _, c := range tb.calls {
			c.all = true
			for j, i := range c.idx {
				counts[i] += c.costs[j]
				c.counts[j] = counts[i]
			}
		}
		return nil
	}
	p := 1
	for _, c := range tb.calls {
		m := len(c.keys)
		if len(res) < p+1+m {
			return fmt.Errorf("script returned %d numbers for %d calls", len(res), len(tb.calls))
		}
		c.all = res[p] == 1
		copy(c.counts, res[p+1:p+1+m])
		p += 1 + m
	}
	if p != len(res) {
		return fmt.Errorf("script returned %d numbers for %d calls", len(res), len(tb.calls))
	}
	return nil
}

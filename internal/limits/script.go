package limits

import (
	"context"
	"crypto/sha1"
	"encoding/hex"

	"github.com/redis/go-redis/v9"
)

// script is a Lua script run by EVALSHA, or by EVAL when Redis does not
// have it cached (NOSCRIPT, after a restart or a SCRIPT FLUSH).
//
// Its commands are built here rather than by go-redis's Script: go-redis
// takes a command's arguments as []any, where each string or number put
// in costs an allocation of its own; a pointer does not. A request's
// script call passes its counters' names and its numbers by pointer
// (evalArgs), and reads an array of integers as []int64
// (redis.IntSliceCmd), without boxing each.
type script struct {
	src, sha string
}

func newScript(src string) *script {
	h := sha1.Sum([]byte(src))
	return &script{src: src, sha: hex.EncodeToString(h[:])}
}

// evalArgs appends to dst the arguments of EVALSHA of s with keys, then
// nums, each by pointer: keys and nums must stay unchanged until the
// command has been sent.
func (s *script) evalArgs(dst []any, keys []string, nums []int64) []any {
	dst = append(dst, "evalsha", &s.sha, len(keys))
	for i := range keys {
		dst = append(dst, &keys[i])
	}
	for i := range nums {
		dst = append(dst, &nums[i])
	}
	return dst
}

// asEval turns cmd, an EVALSHA of s built by evalArgs or run, into the
// same command as EVAL, reusing its arguments.
func (s *script) asEval(ctx context.Context, cmd redis.Cmder) redis.Cmder {
	args := cmd.Args()
	args[0], args[1] = "eval", &s.src
	var c redis.Cmder
	switch cmd.(type) {
	case *redis.IntSliceCmd:
		c = redis.NewIntSliceCmd(ctx, args...)
	case *redis.IntCmd:
		c = redis.NewIntCmd(ctx, args...)
	default:
		c = redis.NewCmd(ctx, args...)
	}
	c.SetFirstKeyPos(3)
	return c
}

// counterCall is one script call on a request's counters: their names,
// the numbers for each and the command's arguments, in one allocation
// for up to callCounters counters.
type counterCall struct {
	keys []string
	nums []int64
	args []any

	keysArr [callCounters]string
	numsArr [3 * callCounters]int64
	argsArr [3 + 4*callCounters]any
}

// callCounters is how many counters a counterCall holds without a
// second allocation: a request's key, team, event and deployment limits.
const callCounters = 8

// newCounterCall returns a call on n counters with per numbers each.
func newCounterCall(n, per int) *counterCall {
	c := new(counterCall)
	if n <= callCounters && per <= 3 {
		c.keys, c.nums, c.args = c.keysArr[:n], c.numsArr[:0], c.argsArr[:0]
	} else {
		c.keys, c.nums, c.args = make([]string, n), make([]int64, 0, n*per), make([]any, 0, 3+n*(1+per))
	}
	return c
}

// splitNames fills keys with the counters' names: the names of ends
// (each one's end in names), prefix and hash tag included, each a slice
// of the one string.
func splitNames(keys []string, names string, ends []int) {
	start := 0
	for i, end := range ends {
		keys[i], start = names[start:end], end
	}
}

package limits

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Natural batching. Under load, many requests want a script run at the
// same moment; sent one by one, each costs a write and a read system call
// on both ends and a turn of Redis's event loop. While Run is running, a
// Redis limiter's calls go to it instead: it takes the first waiting call,
// every other call already waiting (up to maxBatch), sends them all as one
// pipeline and hands each caller its own result. Nothing waits to fill a
// batch: an idle gateway sends each call alone at once, and the busier it
// is, the more calls share a round trip. Each script stays atomic on its
// own; only the trip to Redis is shared.

// maxBatch bounds the calls sent in one pipeline.
const maxBatch = 256

// scriptCall is one script run waiting for the batcher.
type scriptCall struct {
	ctx    context.Context
	script *script
	cmd    redis.Cmder
	done   chan struct{}
}

// Run sends r's script calls to Redis in batches until ctx ends; see
// above. Without it every call is its own round trip. Run once per
// limiter; it returns when ctx ends, after the calls it took are answered.
func (r *Redis) Run(ctx context.Context) {
	r.running.Store(true)
	defer func() {
		r.running.Store(false)
		close(r.stopped) // callers already queueing go direct
	}()
	var batch []*scriptCall
	for {
		select {
		case c := <-r.queue:
			batch = append(batch[:0], c)
		case <-ctx.Done():
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case c := <-r.queue:
				batch = append(batch, c)
			default:
				break more
			}
		}
		r.send(batch)
		clear(batch)
	}
}

// send runs a batch as one pipeline. A script Redis has not cached
// (NOSCRIPT, after a restart or a SCRIPT FLUSH) is sent again in full.
func (r *Redis) send(batch []*scriptCall) {
	// The calls' own contexts bound their waits; the pipeline is not
	// cancelled by one caller leaving.
	ctx := context.WithoutCancel(batch[0].ctx)
	pipe := r.client.Pipeline()
	for _, c := range batch {
		_ = pipe.Process(ctx, c.cmd)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for _, c := range batch {
		if err := c.cmd.Err(); err != nil && isNoScript(err) {
			c.cmd = c.script.asEval(ctx, c.cmd)
			_ = r.client.Process(ctx, c.cmd)
		}
		close(c.done)
	}
}

func isNoScript(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "NOSCRIPT")
}

// run runs script with keys and args (any values) and returns its
// command; see process.
func (r *Redis) run(ctx context.Context, s *script, keys []string, args ...any) *redis.Cmd {
	all := make([]any, 0, 3+len(keys)+len(args))
	all = s.evalArgs(all, keys, nil)
	cmd := redis.NewCmd(ctx, append(all, args...)...)
	cmd.SetFirstKeyPos(3)
	if c, ok := r.process(ctx, s, cmd).(*redis.Cmd); ok {
		return c
	}
	return cmd // cut short: carries the error
}

// process sends cmd, an EVALSHA of s, through the batcher while Run is
// running, else directly, and returns it answered (or the EVAL it was
// sent again as).
func (r *Redis) process(ctx context.Context, s *script, cmd redis.Cmder) redis.Cmder {
	if !r.running.Load() {
		return r.direct(ctx, s, cmd)
	}
	c := &scriptCall{ctx: ctx, script: s, cmd: cmd, done: make(chan struct{})}
	select {
	case r.queue <- c:
	case <-r.stopped:
		return r.direct(ctx, s, cmd)
	case <-ctx.Done():
		cmd.SetErr(ctx.Err())
		return cmd
	}
	select {
	case <-c.done:
		return c.cmd
	case <-ctx.Done():
		// The call may still be counted; a caller that left does not
		// learn whether it was, as with a direct call cut short. The
		// batcher still owns cmd: answer with one of the caller's own.
		cut := redis.NewCmd(ctx)
		cut.SetErr(ctx.Err())
		return cut
	}
}

// direct sends cmd on its own, and again as EVAL if Redis lacks s.
func (r *Redis) direct(ctx context.Context, s *script, cmd redis.Cmder) redis.Cmder {
	if err := r.client.Process(ctx, cmd); err != nil && isNoScript(err) {
		cmd = s.asEval(ctx, cmd)
		_ = r.client.Process(ctx, cmd)
	}
	return cmd
}

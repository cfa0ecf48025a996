package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The governed gateway's limits count in Redis, whose own CPU time is the
// rest of what a governed request costs: a Redis of the run's own (bench
// reads it as the only client's) is read before and after each governed
// row, from INFO cpu, and its time per request is reported beside the
// gateway's.

// redisCPU returns a reader of the CPU time (user and system) of the Redis
// server at url so far.
func redisCPU(url string) (func(context.Context) (time.Duration, error), error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	return func(ctx context.Context) (time.Duration, error) {
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		info, err := c.Info(ctx, "cpu").Result()
		if err != nil {
			return 0, err
		}
		return ParseRedisCPU(info)
	}, nil
}

// ParseRedisCPU returns used_cpu_sys + used_cpu_user (seconds, with
// microseconds) of an INFO cpu reply.
func ParseRedisCPU(info string) (time.Duration, error) {
	var total time.Duration
	found := 0
	for line := range strings.Lines(info) {
		name, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (name != "used_cpu_sys" && name != "used_cpu_user") {
			continue
		}
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s < 0 {
			return 0, fmt.Errorf("INFO cpu: bad %s %q", name, v)
		}
		total += time.Duration(s * float64(time.Second))
		found++
	}
	if found != 2 {
		return 0, errors.New("INFO cpu: no used_cpu_sys and used_cpu_user")
	}
	return total, nil
}

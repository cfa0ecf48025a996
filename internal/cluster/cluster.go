// Package cluster shares what one replica learns about an upstream with
// every other replica through Redis: when a deployment answers 429 on
// replica A, replica B skips it from its next request instead of finding
// out with a 429 of its own. Counters (rpm, tpm, daily caps) are shared by
// the limits package; this package shares cooldowns.
//
// A cooldown is published on a channel, so replicas apply it within a
// network round trip, and also written as a key that expires with it, so a
// replica that starts, or reconnects after an outage, picks up the
// cooldowns already running. Redis being down costs nothing but the
// sharing: every replica still cools deployments from what it sees itself.
package cluster

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Applier applies a cooldown learned from another replica; the router
// implements it.
type Applier interface {
	ApplyCooldown(id string, until time.Time, reason string) bool
}

// Cooldowns publishes this replica's cooldowns and applies everyone
// else's.
type Cooldowns struct {
	client  redis.UniversalClient
	prefix  string
	applier Applier
	log     *slog.Logger
	now     func() time.Time
	self    string // this replica's id, so its own messages are skipped

	out     chan outgoing // cooldowns to publish, sent by Run
	healthy atomic.Bool
	// subscribed is set once the first subscription is established and
	// the running cooldowns are loaded.
	subscribed atomic.Bool
}

// DefaultPing is how often Run checks that Redis answers.
const DefaultPing = 2 * time.Second

// New returns a Cooldowns over client, with Redis keys and the channel
// under prefix (e.g. "spillway:"). replica must be unique per process.
func New(client redis.UniversalClient, prefix, replica string, a Applier, log *slog.Logger) *Cooldowns {
	if log == nil {
		log = slog.Default()
	}
	return &Cooldowns{client: client, prefix: prefix, applier: a, log: log, now: time.Now, self: replica, out: make(chan outgoing, 256)}
}

func (c *Cooldowns) channel() string { return c.prefix + "cooldowns" }

func (c *Cooldowns) key(id string) string { return c.prefix + "cooldown:" + id }

// message is "replica\x00deployment\x00until (unix ms)\x00reason".
func (c *Cooldowns) message(id string, until time.Time, reason string) string {
	return c.self + "\x00" + id + "\x00" + strconv.FormatInt(until.UnixMilli(), 10) + "\x00" + reason
}

// outgoing is one of this replica's cooldowns waiting for Run to share it.
type outgoing struct {
	id    string
	until time.Time
	msg   string
}

// Publish tells the other replicas that deployment id cools until until.
// It never blocks the caller: Run sends it; when Run has fallen far behind
// (Redis hanging) the message is dropped, which only means the others
// find out themselves.
func (c *Cooldowns) Publish(id string, until time.Time, reason string) {
	if !until.After(c.now()) {
		return
	}
	select {
	case c.out <- outgoing{id: id, until: until, msg: c.message(id, until, reason)}:
	default:
	}
}

// send writes one cooldown's key and publishes it, in one round trip.
func (c *Cooldowns) send(ctx context.Context, o outgoing) {
	ttl := o.until.Sub(c.now())
	if ttl <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := c.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, c.key(o.id), o.msg, ttl)
		p.Publish(ctx, c.channel(), o.msg)
		return nil
	})
	if err != nil {
		c.log.Debug("cooldown not shared", "deployment", o.id, "err", err)
	}
}

// Healthy reports whether Redis answered the last check.
func (c *Cooldowns) Healthy() bool { return c.healthy.Load() }

// ping checks Redis, logging once when it goes away and once when it
// returns.
func (c *Cooldowns) ping(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	err := c.client.Ping(ctx).Err()
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return
	}
	switch up := err == nil; {
	case up && !c.healthy.Swap(true):
		c.log.Info("redis reachable: limits and cooldowns are shared by all replicas")
	case !up && c.healthy.Swap(false):
		c.log.Warn("redis unreachable: limits and cooldowns are per replica until it returns", "err", err)
	}
}

// Run subscribes until ctx is done, applying every cooldown another
// replica publishes, loading the running ones each time the subscription
// is (re)established, sending this replica's, and checking every ping
// that Redis answers (Healthy).
func (c *Cooldowns) Run(ctx context.Context, ping time.Duration) {
	if ping <= 0 {
		ping = DefaultPing
	}
	c.healthy.Store(true) // optimistic until the first check says otherwise
	c.ping(ctx)
	t := time.NewTicker(ping)
	defer t.Stop()
	ps := c.client.Subscribe(ctx, c.channel())
	defer ps.Close()
	ch := ps.ChannelWithSubscriptions(redis.WithChannelHealthCheckInterval(5 * time.Second))
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.ping(ctx)
		case o := <-c.out:
			c.send(ctx, o)
		case m, ok := <-ch:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					c.load(ctx)
					c.subscribed.Store(true)
				}
			case *redis.Message:
				c.apply(m.Payload)
			}
		}
	}
}

// load applies the cooldowns running now, from their keys.
func (c *Cooldowns) load(ctx context.Context) {
	iter := c.client.Scan(ctx, 0, c.key("*"), 256).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		if !errors.Is(err, context.Canceled) {
			c.log.Warn("could not load shared cooldowns", "err", err)
		}
		return
	}
	for _, k := range keys {
		v, err := c.client.Get(ctx, k).Result()
		if err == nil {
			c.apply(v)
		}
	}
}

// apply parses a message and applies it unless it is this replica's own.
func (c *Cooldowns) apply(msg string) {
	parts := strings.SplitN(msg, "\x00", 4)
	if len(parts) != 4 || parts[0] == c.self {
		return
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return
	}
	until := time.UnixMilli(ms)
	if !until.After(c.now()) {
		return
	}
	if c.applier.ApplyCooldown(parts[1], until, parts[3]+" (seen by another replica)") {
		c.log.Debug("cooldown from another replica", "deployment", parts[1], "until", until)
	}
}

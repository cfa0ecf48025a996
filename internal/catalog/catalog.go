// Package catalog keeps the router's deployments, and the keyring's stored
// keys and events, in step with their sources: the config file (read-only,
// fixed at start) and the store (changed at runtime through the management
// APIs, on any replica). A replica notices a change by polling the store's
// revision, one tiny query per tick, and reloads; a periodic full resync is
// the safety net. The replica that made a change reloads at once.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spillwayhq/spillway/internal/admin"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// DefaultPoll is how often a replica checks the store's revision. Changes
// made on another replica are routed within one poll.
const DefaultPoll = time.Second

// DefaultResync is how often the whole set is reloaded whatever the
// revision says.
const DefaultResync = 30 * time.Second

// Catalog feeds the router.
type Catalog struct {
	store  store.Store
	file   []config.Deployment
	router *router.Router
	keys   *auth.Keyring // nil: stored keys are not loaded
	log    *slog.Logger

	// asked numbers the calls to Reload; covered is the highest number
	// whose call came before a reload that then succeeded. A call waiting
	// for the lock whose number is covered has nothing left to load: a
	// burst of changes (500 attendees registering) costs one or two
	// reloads, not one each.
	asked   atomic.Int64
	mu      sync.Mutex // serialises reloads
	covered int64
	applied int64 // store revision last applied
	loaded  bool
	skipped map[string]string // stored deployment id -> why it is not routed
	outage  bool              // the last tick could not read the store
}

// New returns a catalog for the given sources. Call Reload once before
// serving, then Run.
func New(s store.Store, file []config.Deployment, r *router.Router, log *slog.Logger) *Catalog {
	if log == nil {
		log = slog.Default()
	}
	return &Catalog{store: s, file: file, router: r, log: log}
}

// WithKeyring makes every reload also load the stored keys and events into
// k, so key changes (a revocation) reach this replica within one poll.
func (c *Catalog) WithKeyring(k *auth.Keyring) *Catalog {
	c.keys = k
	return c
}

// Reload reads the store and swaps the router's deployments: the file's,
// then every stored one that is valid and does not reuse a file id.
// Deployments that keep their id keep their routing state.
func (c *Catalog) Reload(ctx context.Context) error {
	ticket := c.asked.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.covered >= ticket {
		return nil // a reload that began after this call was made has loaded it
	}
	begin := c.asked.Load()
	rev, err := c.store.Revision(ctx)
	if err != nil {
		return fmt.Errorf("catalog: read revision: %w", err)
	}
	stored, err := c.store.ListDeployments(ctx)
	if err != nil {
		return fmt.Errorf("catalog: list deployments: %w", err)
	}
	if c.keys != nil {
		keys, err := c.store.ListKeys(ctx, store.KeyFilter{})
		if err != nil {
			return fmt.Errorf("catalog: list keys: %w", err)
		}
		events, err := c.store.ListEvents(ctx)
		if err != nil {
			return fmt.Errorf("catalog: list events: %w", err)
		}
		teams, err := c.store.ListTeams(ctx)
		if err != nil {
			return fmt.Errorf("catalog: list teams: %w", err)
		}
		c.keys.LoadAccess(keys, events, teams)
	}
	all := make([]config.Deployment, 0, len(c.file)+len(stored))
	all = append(all, c.file...)
	fileIDs := make(map[string]bool, len(c.file))
	for _, d := range c.file {
		fileIDs[d.ID] = true
	}
	skipped := make(map[string]string)
	for _, s := range stored {
		d := admin.ConfigDeployment(s)
		if err := routable(d, fileIDs); err != nil {
			skipped[d.ID] = err.Error()
			continue
		}
		all = append(all, d)
	}
	if err := c.router.Update(all); err != nil {
		return fmt.Errorf("catalog: update router: %w", err)
	}
	for id, why := range skipped {
		if c.skipped[id] != why {
			c.log.Warn("stored deployment not routed", "deployment", id, "reason", why)
		}
	}
	c.skipped, c.applied, c.loaded, c.covered = skipped, rev, true, begin
	return nil
}

// routable reports why a stored deployment cannot join the routing table.
func routable(d config.Deployment, fileIDs map[string]bool) error {
	if fileIDs[d.ID] {
		return errors.New("its id is taken by a deployment in the config file")
	}
	_, err := provider.NewTarget(d)
	return err
}

// Run polls the store until ctx is done: a changed revision triggers a
// reload, and so does every resync period. Errors are logged once per
// outage, and polling goes on: the router keeps its last good table.
func (c *Catalog) Run(ctx context.Context, poll, resync time.Duration) {
	if poll <= 0 {
		poll = DefaultPoll
	}
	if resync <= 0 {
		resync = DefaultResync
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			full := now.Sub(last) >= resync
			if full {
				last = now
			}
			c.Tick(ctx, full)
		}
	}
}

// Tick checks the store once and reloads when its revision moved (or
// always, when full). Run calls it; tests call it to step replicas
// deterministically.
func (c *Catalog) Tick(ctx context.Context, full bool) {
	err := c.tick(ctx, full)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil && !c.outage:
		c.log.Error("cannot read deployments from the store; routing with the last good set", "err", err)
		c.outage = true
	case err == nil && c.outage:
		c.log.Info("store reachable again; deployments in sync")
		c.outage = false
	}
}

// Healthy reports whether the last look at the store succeeded.
func (c *Catalog) Healthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.outage
}

// Skipped returns the stored deployments that are not routed, and why.
func (c *Catalog) Skipped() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.skipped))
	for k, v := range c.skipped {
		out[k] = v
	}
	return out
}

func (c *Catalog) tick(ctx context.Context, full bool) error {
	if !full {
		rev, err := c.store.Revision(ctx)
		if err != nil {
			return err
		}
		c.mu.Lock()
		same := c.loaded && rev == c.applied
		c.mu.Unlock()
		if same {
			return nil
		}
	}
	return c.Reload(ctx)
}

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/admin"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/catalog"
	"github.com/spillwayhq/spillway/internal/cluster"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/gateway"
	"github.com/spillwayhq/spillway/internal/identity"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/metrics"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/tracing"
	"github.com/spillwayhq/spillway/internal/usage"
	"github.com/spillwayhq/spillway/web"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("SPILLWAY_CONFIG"), "config file (env SPILLWAY_CONFIG)")
	listen := fs.String("listen", os.Getenv("SPILLWAY_LISTEN"), "listen address (env SPILLWAY_LISTEN; default "+config.DefaultListen+")")
	store := fs.String("store", os.Getenv("SPILLWAY_STORE"), "store URL (env SPILLWAY_STORE; default "+config.DefaultStore+")")
	redis := fs.String("redis", os.Getenv("SPILLWAY_REDIS"), "Redis URL for state shared by replicas (env SPILLWAY_REDIS)")
	logf := logFlags(fs)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until shutdown (for performance work)")
	pprofListen := fs.String("pprof-listen", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6061 (for performance work: no authentication, keep it on loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := logf.logger(stderr)
	if err != nil {
		return err
	}
	if n := debug.SetMemoryLimit(-1); n < math.MaxInt64 {
		log.Info("go memory limit", "bytes", n, "source", memorySource())
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if *pprofListen != "" {
		stop, err := startPprof(*pprofListen, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	cfg := &config.Config{}
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *store != "" {
		cfg.Store = *store
	}
	if *redis != "" {
		cfg.Redis = *redis
	}
	if v := os.Getenv("SPILLWAY_ADMIN_TOKEN"); v != "" {
		cfg.AdminToken = config.Secret(v)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid config (run `spillway check --config %s` for the full list):\n%w", *cfgPath, err)
	}
	if cfg.Redis == "" {
		log.Info("no redis configured: rate limits, daily caps and cooldowns are counted by this process alone; set --redis to share them between replicas")
	}
	secretKey, err := secretKeyFromEnv()
	if err != nil {
		return err
	}
	if secretKey == nil {
		log.Warn("SPILLWAY_SECRET_KEY is not set: deployments with upstream keys cannot be stored through the API until it is (32 bytes as 64 hex characters or base64, e.g. `openssl rand -hex 32`)")
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	return serveGateway(ctx, cfg, secretKey, ln, log, now, func(addr string) {
		fmt.Fprintf(stdout, "spillway: serving on http://%s (%d deployments, %d client keys)\n", addr, len(cfg.Deployments), len(cfg.Keys))
	})
}

// app is a running gateway's parts and the goroutines it owns.
type app struct {
	handler http.Handler
	store   store.Store
	catalog *catalog.Catalog
	token   *auth.AdminToken
	// tokenFromConfig is true when the admin token comes from the config or
	// environment; otherwise its hash lives in the store and is re-read so
	// a rotation reaches every replica.
	tokenFromConfig bool
	tracer          *tracing.Tracer // nil when tracing is off
	tokens          *provider.EntraTokens
	usage           *usage.Writer
	purger          *usage.Purger
	backlog         *usage.BacklogRoller
	ledger          *access.Ledger
	// redis, redisLimits, limits and cooldowns are nil without Redis.
	redis       *redis.Client
	redisLimits *limits.Redis
	limits      *limits.Fallback // redisLimits with this process's behind it
	cooldowns   *cluster.Cooldowns
	gateway     *gateway.Gateway
	prober      *router.Prober
	batches     *gateway.BatchFollower
	log         *slog.Logger
}

// newApp opens the store and wires the router, catalog, authentication,
// gateway and management API from cfg. now is the clock of every
// calendar decision: rate-limit windows, daily caps, event periods, key
// expiry and budget periods (nil: time.Now). Stored timestamps and the
// durations waited (cooldowns, circuits, retries, polls) follow the real
// time, which is the same thing except in tests that stop now.
func newApp(ctx context.Context, cfg *config.Config, secretKey []byte, log *slog.Logger, now func() time.Time) (*app, error) {
	if now == nil {
		now = time.Now
	}
	st, err := store.Open(ctx, cfg.Store, store.Options{SecretKey: secretKey, Logger: log})
	if err != nil {
		return nil, err
	}
	a, err := wire(ctx, cfg, st, secretKey, log, now)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// newRedis returns a client for url tuned for a gateway: short timeouts
// and no retries, so a Redis outage costs a request one quick failure
// (then the limits fall back to this process) rather than seconds.
func newRedis(url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	opts.DialTimeout = 500 * time.Millisecond
	opts.ReadTimeout = 500 * time.Millisecond
	opts.WriteTimeout = 500 * time.Millisecond
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	if opts.PoolSize == 0 {
		// Every limited request makes a call or two; go-redis's default
		// (10 per CPU) makes requests queue for a connection under load.
		opts.PoolSize = redisPoolSize
	}
	return redis.NewClient(opts), nil
}

// redisPoolSize is the Redis connections a replica keeps at most, unless
// the URL says (pool_size=N).
const redisPoolSize = 256

// redisLog sends go-redis's own messages (a failed dial, say) to the
// gateway's log at debug level: the gateway logs outages itself, once.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

func wire(ctx context.Context, cfg *config.Config, st store.Store, secretKey []byte, log *slog.Logger, now func() time.Time) (_ *app, err error) {
	a := &app{store: st, log: log}
	defer func() {
		if err != nil { // the caller closes the store
			a.closeRedis()
			if a.tokens != nil {
				a.tokens.Close()
			}
		}
	}()
	// Limits count in this process, or in Redis for every replica with a
	// local fallback while Redis is away.
	var limiter limits.Limiter = limits.NewMemory(now)
	var redisUp func() bool
	if cfg.Redis != "" {
		client, err := newRedis(cfg.Redis)
		if err != nil {
			return nil, err
		}
		a.redis = client
		redis.SetLogger(redisLog{log})
		// The cluster's ping tells when Redis goes and returns, once for
		// limits and cooldowns alike; the limiter falls back silently.
		a.redisLimits = limits.NewRedis(client, "spillway:limits:", now)
		fb := limits.NewFallback(a.redisLimits, limiter, slog.New(slog.DiscardHandler)).
			WithRetry(time.Second, nil).
			WithCoalescing(settleInterval, now)
		a.limits, limiter = fb, fb
		// Health is the ping's view: the limiter only notices Redis is back
		// when a limited request comes, which may be never.
		redisUp = func() bool { return a.cooldowns.Healthy() }
	}
	var m *metrics.Metrics // set below; no cooldown can happen before
	a.tokens = provider.NewEntraTokens(provider.EntraOptions{Logger: log})
	r, err := router.New(router.Options{
		Tokens:           a.tokens,
		Cooldown:         cfg.Routing.Cooldown.D(),
		FailureThreshold: cfg.Routing.FailureThreshold,
		CircuitOpen:      cfg.Routing.CircuitOpen.D(),
		SlowThreshold:    cfg.Routing.SlowThreshold.D(),
		SlowFactor:       cfg.Routing.SlowFactor,
		Strategy:         cfg.Routing.Strategy,
		Models:           cfg.Models,
		Limiter:          limiter,
		OnCooldown: func(id string, until time.Time, o router.Outcome) {
			m.Cooldown(id, o)
			if a.cooldowns != nil {
				a.cooldowns.Publish(id, until, o.Reason)
			}
		},
	}, cfg.Deployments)
	if err != nil {
		return nil, err
	}
	if a.redis != nil {
		a.cooldowns = cluster.New(a.redis, "spillway:", replicaID(), r, log)
	}
	w := usage.NewWriter(st, usage.WriterOptions{QueueSize: cfg.Usage.QueueSize, SpillDir: spillDir(cfg), Logger: log})
	m = metrics.New(metrics.Options{Router: r, Usage: writerStats{w}, Redis: redisUp})

	keys := make([]auth.StaticKey, 0, len(cfg.Keys))
	for _, k := range cfg.Keys {
		keys = append(keys, auth.StaticKey{Key: k.Key.Value(), Name: k.Name, LogPayloads: k.LogPayloads})
	}
	staticKeys := auth.NewStaticKeys(keys)
	keyring := auth.NewKeyring(staticKeys, now)
	cat := catalog.New(st, cfg.Deployments, r, log).WithKeyring(keyring)
	if err := cat.Reload(ctx); err != nil {
		return nil, err
	}
	if len(keys) == 0 && keyring.Len() == 0 {
		log.Warn("no client keys yet: every data-plane request will get 401 until keys are added to the config or created with POST /admin/v1/keys")
	}
	tracer, err := tracing.New(ctx, tracing.Options{
		Enabled:     cfg.Tracing.Enabled,
		Endpoint:    cfg.Tracing.Endpoint,
		ServiceName: cfg.Tracing.ServiceName,
		SampleRatio: cfg.Tracing.SampleRatio,
	})
	if err != nil {
		return nil, err
	}
	a.catalog, a.token, a.tracer, a.usage = cat, &auth.AdminToken{}, tracer, w
	a.purger = usage.NewPurger(st, cfg.Usage.PayloadRetention.D(), log).WithRecords(st, cfg.Usage.Retention.D()).WithWeeks(st)
	a.backlog = usage.NewBacklogRoller(st, log)
	a.ledger = access.NewLedger(st, now)
	if tok := cfg.AdminToken.Value(); tok != "" {
		a.token.SetToken(tok)
		a.tokenFromConfig = true
	} else {
		generated, err := auth.EnsureAdminToken(ctx, st, a.token, store.ErrNotFound)
		if err != nil {
			return nil, err
		}
		if generated != "" {
			log.Warn("generated the management API token; it is shown this once and stored only as a hash. "+
				"Keep it, or set SPILLWAY_ADMIN_TOKEN / admin_token. Rotate with `spillway admin-token rotate`.",
				"admin_token", generated)
		}
	}

	transport := gateway.NewTransport(cfg.Routing.ConnectTimeout.D(), cfg.Routing.FirstByteTimeout.D())
	checker := access.New(access.Options{
		Limiter:         limiter,
		Ledger:          a.ledger,
		Now:             now,
		MaxTokensPolicy: cfg.Limits.MaxTokensPolicy,
		Logger:          log,
	})
	m.CountLimitFailures(func() int64 {
		n := checker.AdjustFailures() + r.AdjustFailures()
		if fb, ok := limiter.(*limits.Fallback); ok {
			n += fb.MissedAdjusts()
		}
		return n
	})
	gw := gateway.New(gateway.Options{
		Router:           r,
		Auth:             clientAuth(cfg, keyring),
		Transport:        transport,
		Retries:          cfg.Routing.Retries,
		MaxBodyBytes:     cfg.Limits.MaxBodyBytes,
		IdleTimeout:      cfg.Routing.IdleTimeout.D(),
		Logger:           log,
		Recorder:         recorders{w, observer{m}},
		Tracer:           tracer,
		LogPayloads:      cfg.Usage.LogPayloads,
		Access:           checker,
		OperationKey:     gateway.OperationKey(secretKey),
		Claims:           limiter,
		RealtimeSessions: cfg.Limits.RealtimeSessionsPerKey,
		Objects:          st,
		MaxFileBytes:     cfg.Limits.MaxFileBytes,
	})
	attendees := admin.NewAttendees(admin.Options{Store: st, Secret: secretKey, Reload: cat.Reload, Logger: log, Now: now})
	signin := newIdentity(cfg.Identity, st, a.token, secretKey, attendees, now, log)
	ui := newWeb(a.token, secretKey, signin, st, now, log)
	mgmt := admin.New(admin.Options{
		Store:        st,
		Config:       cfg.Deployments,
		Router:       r,
		Token:        a.token.Check,
		Session:      ui.Session,
		SessionAdmin: signin.Admin,
		Reload:       cat.Reload,
		Logger:       log,
		Transport:    transport,
		Secret:       secretKey,
		Limiter:      limiter,
		Redis:        redisUp,
		StaticKeys:   staticKeys,
		Now:          now,
		// a.backlog is set above, before admin.New.
		UsageRollups: a.backlog.Status,
	})
	mux := frontMux(mgmt, m.Handler(), ui, signin, gw, gw.Patterns())
	a.gateway = gw
	a.prober = r.NewProber(transport, log)
	a.batches = gw.NewBatchFollower(st)
	a.handler = mux
	return a, nil
}

// frontMux routes the management API, the metrics, the portal and its
// sign-in to their handlers, and everything else to the gateway. The
// gateway's own routes (gwPatterns) are registered too, to the gateway:
// under the catch-all alone, Go's ServeMux found them only after failing
// the more specific patterns and looking for a trailing-slash redirect,
// seven allocations and two walks of its tree on every request. They go
// where they went: no pattern of the others overlaps them
// (TestFrontMuxRoutesAsBefore).
func frontMux(mgmt, metrics, ui, signin, gw http.Handler, gwPatterns []string) *http.ServeMux {
	mux := http.NewServeMux()
	for _, p := range []string{"/admin/", "/api/v1/management/", "/v1/api/management/", "/api/v1/attendee/", "/api/v1/eventinfo", "/model/", "GET /v1/model/info", "/key/", "/team/", "/health", "/health/"} {
		mux.Handle(p, mgmt)
	}
	mux.Handle("GET /metrics", metrics)
	for _, p := range web.Patterns {
		mux.Handle(p, ui)
	}
	for _, p := range identity.Patterns {
		mux.Handle(p, signin)
	}
	for _, p := range gwPatterns {
		mux.Handle(p, gw)
	}
	mux.Handle("/", gw)
	return mux
}

// spillDir is where usage records wait while the store is down: beside an
// SQLite database, else in the working directory, unless configured.
func spillDir(cfg *config.Config) string {
	if cfg.Usage.SpillDir != "" {
		return cfg.Usage.SpillDir
	}
	if path, ok := strings.CutPrefix(cfg.Store, "sqlite://"); ok {
		return filepath.Join(filepath.Dir(path), "spillway-usage-spill")
	}
	return "spillway-usage-spill"
}

// writerStats shows the usage writer's counters to the metrics.
type writerStats struct{ w *usage.Writer }

func (s writerStats) QueueDepth() int64 { return s.w.Stats().Queued }
func (s writerStats) Dropped() int64    { return s.w.Stats().Dropped }
func (s writerStats) Spilled() int64    { return s.w.Stats().Spilled }

// close stops what the app owns that needs stopping: the usage writer
// (flushing every queued record, bounded by ctx), the tracer, the store.
func (a *app) close(ctx context.Context) {
	if err := a.usage.Close(ctx); err != nil && !errors.Is(err, usage.ErrWriterClosed) {
		a.log.Error("usage records not all written", "err", err, "spill_file", "kept for the next start")
	}
	if err := a.tracer.Shutdown(ctx); err != nil {
		a.log.Warn("could not flush traces", "err", err)
	}
	a.tokens.Close()
}

// release closes the store and Redis, once nothing runs that uses them.
func (a *app) release() {
	a.store.Close()
	a.closeRedis()
}

func (a *app) closeRedis() {
	if a.redis != nil {
		a.redis.Close()
	}
}

// replicaID names this process among the replicas sharing Redis.
func replicaID() string {
	host, _ := os.Hostname()
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + rand.Text()[:8]
}

// recorders hands every usage record to each of its recorders.
type recorders []gateway.Recorder

func (rs recorders) Record(r usage.Record) {
	for _, x := range rs {
		x.Record(r)
	}
}

// observer feeds usage records to the metrics.
type observer struct{ m *metrics.Metrics }

func (o observer) Record(r usage.Record) { o.m.Observe(r) }

// replicaPoll is how often a replica looks at the store for changes made
// through the others: deployments, keys and events (the catalog) and the
// admin token. One poll applies a change (TestReplicaSyncOnePoll), so a
// change reaches every replica within replicaPoll plus the reload's few
// milliseconds: the README's "within a second".
const replicaPoll = catalog.DefaultPoll

// refreshToken re-reads the admin token's hash every poll, so a rotation
// made on any replica applies here at the next one.
func (a *app) refreshToken(ctx context.Context, poll time.Duration) {
	if a.tokenFromConfig {
		return
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.syncToken(ctx)
		}
	}
}

// syncToken is one poll of refreshToken.
func (a *app) syncToken(ctx context.Context) {
	if v, err := a.store.Setting(ctx, auth.AdminTokenSetting); err == nil {
		if err := a.token.SetHash(v); err != nil {
			a.log.Error("admin token hash in the store is unusable", "err", err)
		}
	}
}

// settleInterval is how long a correction of a limit count (a request's
// actual tokens) waits to be sent to Redis with the others of that
// interval, summed per counter: one script call for all of them. A
// variable for a test that waits out none.
var settleInterval = 5 * time.Millisecond

// probeInterval is how often open circuits whose period is over are
// probed in the background, so a recovered deployment gets traffic back
// within seconds rather than on a client's request.
const probeInterval = 5 * time.Second

// cutWait bounds the wait for cut requests to record their usage.
const cutWait = 5 * time.Second

// serveGateway serves until ctx is cancelled, then stops accepting, lets
// in-flight requests and streams finish for up to the shutdown grace, stops
// its background work and closes the store.
func serveGateway(ctx context.Context, cfg *config.Config, secretKey []byte, ln net.Listener, log *slog.Logger, now func() time.Time, ready func(addr string)) error {
	a, err := newApp(ctx, cfg, secretKey, log, now)
	if err != nil {
		ln.Close()
		return err
	}
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.catalog.Run(bg, replicaPoll, catalog.DefaultResync) })
	wg.Go(func() { a.ledger.Run(bg, access.DefaultLedgerRefresh) })
	if a.cooldowns != nil {
		wg.Go(func() { a.cooldowns.Run(bg, cluster.DefaultPing) })
	}
	if a.redisLimits != nil {
		// Limit checks of concurrent requests share Redis round trips,
		// and corrections of many requests share one script call. The
		// corrections still waiting are sent when bg ends, before
		// release closes Redis.
		wg.Go(func() { a.redisLimits.Run(bg) })
		wg.Go(func() { a.limits.Run(bg) })
	}
	wg.Go(func() { a.refreshToken(bg, replicaPoll) })
	wg.Go(func() { a.usage.Run(bg) })
	wg.Go(func() { a.purger.Run(bg, usage.DefaultPurgeInterval) })
	wg.Go(func() { a.backlog.Run(bg) })
	wg.Go(func() { a.tokens.Run(bg, provider.DefaultTokenCheck) })
	wg.Go(func() { a.prober.Run(bg, probeInterval) })
	wg.Go(func() { a.batches.Run(bg, gateway.DefaultBatchPoll) })
	// The tokenizer is for usage records the upstream left without
	// counts; load it now rather than on such a request.
	wg.Go(usage.LoadEncodings)
	// Shut down in order: the HTTP server has drained when this runs, so
	// every request's usage record is queued before the writer flushes.
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.close(ctx)
		stopBG()
		wg.Wait()
		a.release()
	}()

	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		// ReadTimeout bounds reading a whole request, body included, so a
		// client cannot hold a connection by trickling its body. There is
		// no WriteTimeout: answers stream for as long as the model talks.
		ReadTimeout: 2 * time.Minute,
		IdleTimeout: 120 * time.Second,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	grace := cfg.Limits.ShutdownGrace.D()
	log.Info("shutting down: no new connections; waiting for requests in flight", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err = srv.Shutdown(sctx)
	if err == nil {
		// Shutdown does not wait for hijacked connections: Realtime
		// sessions get the rest of the grace here, then are cut.
		err = a.gateway.Wait(sctx)
	}
	if err != nil {
		// Streams still running get the in-band error event and an aborted
		// connection; the rest (waiting on an upstream) end with their
		// connections. Each is recorded before the usage writer stops.
		wctx, wcancel := context.WithTimeout(context.Background(), cutWait)
		n := a.gateway.Cut(wctx)
		log.Warn("grace period over; cut the streams still running, closing the remaining connections", "streams", n)
		_ = srv.Close()
		if err := a.gateway.Wait(wctx); err != nil {
			log.Error("requests still running after the cut; their usage may be lost", "err", err)
		}
		wcancel()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startCPUProfile profiles the process until the returned func is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// secretKeyFromEnv reads SPILLWAY_SECRET_KEY; nil when unset.
func secretKeyFromEnv() ([]byte, error) {
	v := os.Getenv("SPILLWAY_SECRET_KEY")
	if v == "" {
		return nil, nil
	}
	k, err := store.ParseSecretKey(v)
	if err != nil {
		return nil, fmt.Errorf("SPILLWAY_SECRET_KEY: %w", err)
	}
	return k, nil
}

// logOptions are the logging flags shared by the long-running commands.
type logOptions struct {
	format, level *string
}

func logFlags(fs *flag.FlagSet) logOptions {
	return logOptions{
		format: fs.String("log-format", "text", "log format: text or json"),
		level:  fs.String("log-level", "info", "log level: debug, info, warn, error"),
	}
}

// logger returns the logger the flags ask for, or an error naming a bad
// flag value rather than quietly logging otherwise.
func (o logOptions) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*o.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", *o.level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch *o.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", *o.format)
}

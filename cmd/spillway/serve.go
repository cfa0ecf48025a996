package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/gateway"
	"github.com/spillwayhq/spillway/internal/router"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("SPILLWAY_CONFIG"), "config file (env SPILLWAY_CONFIG)")
	listen := fs.String("listen", os.Getenv("SPILLWAY_LISTEN"), "listen address (env SPILLWAY_LISTEN; default "+config.DefaultListen+")")
	store := fs.String("store", os.Getenv("SPILLWAY_STORE"), "store URL (env SPILLWAY_STORE; default "+config.DefaultStore+")")
	redis := fs.String("redis", os.Getenv("SPILLWAY_REDIS"), "Redis URL for state shared by replicas (env SPILLWAY_REDIS)")
	logf := logFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := logf.logger(stderr)

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
	if cfg.Redis != "" {
		log.Warn("redis is not used by this version yet: cooldowns and circuits are per process")
	}
	if cfg.Store != config.DefaultStore {
		log.Warn("the store is not used by this version yet: deployments and keys come from the config file")
	}
	for _, d := range cfg.Deployments {
		if d.RPM > 0 || d.TPM > 0 {
			log.Warn("deployment rpm/tpm limits are not enforced by this version yet; 429s from the upstream are", "deployment", d.ID)
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	return serveGateway(ctx, cfg, ln, log, func(addr string) {
		fmt.Fprintf(stdout, "spillway: serving on http://%s (%d deployments, %d client keys)\n", addr, len(cfg.Deployments), len(cfg.Keys))
	})
}

// newHandler wires the router, authentication and gateway from cfg.
func newHandler(cfg *config.Config, log *slog.Logger) (http.Handler, error) {
	r, err := router.New(router.Options{
		Cooldown:         cfg.Routing.Cooldown.D(),
		FailureThreshold: cfg.Routing.FailureThreshold,
		CircuitOpen:      cfg.Routing.CircuitOpen.D(),
		Strategy:         cfg.Routing.Strategy,
		Models:           cfg.Models,
	}, cfg.Deployments)
	if err != nil {
		return nil, err
	}
	keys := make([]auth.StaticKey, 0, len(cfg.Keys))
	for _, k := range cfg.Keys {
		keys = append(keys, auth.StaticKey{Key: k.Key.Value(), Name: k.Name})
	}
	if len(keys) == 0 {
		log.Warn("no client keys configured: every data-plane request will get 401; add keys: to the config")
	}
	gw := gateway.New(gateway.Options{
		Router:       r,
		Auth:         auth.NewStaticKeys(keys),
		Transport:    gateway.NewTransport(cfg.Routing.ConnectTimeout.D(), cfg.Routing.FirstByteTimeout.D()),
		Retries:      cfg.Routing.Retries,
		MaxBodyBytes: cfg.Limits.MaxBodyBytes,
		IdleTimeout:  cfg.Routing.IdleTimeout.D(),
		Logger:       log,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health/liveliness", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "\"I'm alive!\"\n")
	})
	mux.HandleFunc("GET /health/readiness", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"status\":\"healthy\",\"models\":%d}\n", len(r.Models()))
	})
	mux.Handle("/", gw)
	return mux, nil
}

// serveGateway serves until ctx is cancelled, then stops accepting, lets
// in-flight requests and streams finish for up to the shutdown grace, and
// returns.
func serveGateway(ctx context.Context, cfg *config.Config, ln net.Listener, log *slog.Logger, ready func(addr string)) error {
	h, err := newHandler(cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
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
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("grace period over; closing the remaining connections", "err", err)
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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

func (o logOptions) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*o.level)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if *o.format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

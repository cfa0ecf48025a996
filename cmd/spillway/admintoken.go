package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/store"
)

// runAdminToken manages the management API token kept (as a hash) in the
// store. `rotate` makes a new one; every running replica accepts it, and
// no longer the old one, within a second.
func runAdminToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: spillway admin-token rotate [--config F] [--store URL]")
		fs.PrintDefaults()
	}
	cfgPath := fs.String("config", os.Getenv("SPILLWAY_CONFIG"), "config file (env SPILLWAY_CONFIG)")
	storeURL := fs.String("store", os.Getenv("SPILLWAY_STORE"), "store URL (env SPILLWAY_STORE; default "+config.DefaultStore+")")
	if len(args) == 0 || args[0] != "rotate" {
		fs.Usage()
		return flag.ErrHelp
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg := &config.Config{}
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}
	if *storeURL != "" {
		cfg.Store = *storeURL
	}
	cfg.ApplyDefaults()
	if cfg.AdminToken != "" || os.Getenv("SPILLWAY_ADMIN_TOKEN") != "" {
		return errors.New("the admin token is set in the config file or SPILLWAY_ADMIN_TOKEN; change it there")
	}
	st, err := store.Open(ctx, cfg.Store, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	token, err := auth.RotateAdminToken(ctx, st)
	if err != nil {
		return err
	}
	// The rotation is a change of settings like any other: audited, with
	// the machine's user as the actor, never the token.
	if _, err := st.AppendAudit(ctx, store.AuditEntry{
		Actor: "cli:" + cliUser(), Role: string(auth.RoleOwner), Resource: "settings", ResourceID: auth.AdminTokenSetting, Action: "rotate_admin_token", Status: 200,
	}); err != nil {
		fmt.Fprintf(stderr, "warning: the token was rotated but the audit entry was not stored: %v\n", err)
	}
	fmt.Fprintf(stdout, "New admin token (shown once; the old one stops working within a second on every replica):\n%s\n", token)
	return nil
}

// cliUser names who ran a command, for the audit log.
func cliUser() string {
	for _, v := range []string{"USER", "USERNAME", "LOGNAME"} {
		if u := os.Getenv(v); u != "" {
			return u
		}
	}
	return "unknown"
}

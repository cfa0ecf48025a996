// Command spillway is an LLM gateway in front of OpenAI and Azure OpenAI
// deployments. See README.md for the quick start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spillwayhq/spillway/internal/memlimit"
)

// command is one subcommand. run gets the arguments after the subcommand's
// name and a context cancelled on SIGINT/SIGTERM.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands returns the subcommands. now is the clock serve decides
// windows, days and event periods by: time.Now, except in the tests'
// replica processes, whose clock stands still (see TestMain).
func commands(now func() time.Time) []command {
	return []command{
		{"serve", "run the gateway", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return runServe(ctx, args, stdout, stderr, now)
		}},
		{"demo", "run the gateway with simulated upstreams, ready to try", runDemo},
		{"mock", "run a simulated OpenAI / Azure OpenAI upstream", runMock},
		{"bench", "measure the gateway against the bare upstream and a bare proxy", runBench},
		{"check", "validate a config file, naming every problem", runCheck},
		{"admin-token", "rotate the management API token", runAdminToken},
		{"version", "print the version, commit and Go version", runVersion},
	}
}

func main() {
	limitMemory()
	os.Exit(runMain(time.Now))
}

// limitMemory gives the Go runtime a soft memory limit of 90% of the
// container's memory limit, unless GOMEMLIMIT sets one: near its limit a
// replica then collects garbage harder rather than being killed for it.
// serve logs the limit in force.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if n, ok := memlimit.FromCgroup(os.DirFS("/")); ok {
		debug.SetMemoryLimit(n)
	}
}

// runMain runs the command line with a context cancelled on SIGINT and
// SIGTERM, and returns the exit code.
func runMain(now func() time.Time) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runAt(ctx, os.Args[1:], os.Stdout, os.Stderr, now)
}

// run runs one command line on the real clock and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runAt(ctx, args, stdout, stderr, time.Now)
}

func runAt(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		return 2
	}
	for _, c := range commands(now) {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 2
		default:
			fmt.Fprintf(stderr, "spillway %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "spillway: unknown command %q\n\n", args[0])
	printUsage(stderr)
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: spillway <command> [flags]\n\ncommands:")
	for _, c := range commands(time.Now) {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
}

// memorySource says where the Go memory limit in force came from.
func memorySource() string {
	if os.Getenv("GOMEMLIMIT") != "" {
		return "GOMEMLIMIT"
	}
	return fmt.Sprintf("%.0f%% of the container's memory limit", memlimit.Share*100)
}

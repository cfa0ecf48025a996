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
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand's
// name and a context cancelled on SIGINT/SIGTERM.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the gateway", runServe},
		{"demo", "run the gateway with simulated upstreams, ready to try", runDemo},
		{"mock", "run a simulated OpenAI / Azure OpenAI upstream", runMock},
		{"bench", "measure the gateway against the bare upstream and a bare proxy", runBench},
		{"check", "validate a config file, naming every problem", runCheck},
		{"admin-token", "rotate the management API token", runAdminToken},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		return 2
	}
	for _, c := range commands() {
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
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/spillwayhq/spillway/internal/config"
)

// runCheck validates a config file and prints every problem, one a line,
// each prefixed with the file's name. It returns an error (exit status 1)
// when there is any.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: spillway check [--config FILE | FILE]\n\nValidates a Spillway or LiteLLM config file, naming every problem.")
		fs.PrintDefaults()
	}
	path := fs.String("config", os.Getenv("SPILLWAY_CONFIG"), "config file (env SPILLWAY_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 1 && !checkFlagSet(fs, "config"):
		*path = fs.Arg(0)
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *path == "" {
		fs.Usage()
		return errors.New("no config file: give --config FILE or set SPILLWAY_CONFIG")
	}

	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	var problems []error
	if err := cfg.Validate(); err != nil {
		problems = []error{err}
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			problems = joined.Unwrap()
		}
	}
	for _, p := range problems {
		fmt.Fprintf(stdout, "%s: %v\n", *path, p)
	}
	switch len(problems) {
	case 0:
		models := map[string]bool{}
		for _, d := range cfg.Deployments {
			models[d.Model] = true
		}
		fmt.Fprintf(stdout, "%s: OK (%s, %s)\n", *path,
			checkPlural(len(cfg.Deployments), "deployment"), checkPlural(len(models), "model"))
		return nil
	case 1:
		return errors.New("1 problem found")
	default:
		return fmt.Errorf("%d problems found", len(problems))
	}
}

func checkFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func checkPlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

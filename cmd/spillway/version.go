package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are set at link time by `make build`, `make image`
// and `make release` (-ldflags "-X main.version=… -X main.commit=…").
// Without them, version says "dev" and the commit comes from the VCS
// stamp the go command puts in the binary when it builds from a checkout.
var (
	version = "dev"
	commit  = ""
)

// buildInfo is what `spillway version` prints: operators read it to tell
// which build a replica runs.
type buildInfo struct {
	Version, Commit, GoVersion string
	// Modified is true when the binary was built from a work tree with
	// uncommitted changes.
	Modified bool
}

// readBuildInfo combines the link-time variables with the VCS stamp.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "" {
				b.Commit = s.Value
			}
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func (b buildInfo) String() string {
	commit := b.Commit
	if commit == "" {
		commit = "unknown"
	}
	if b.Modified {
		commit += " (modified)"
	}
	return fmt.Sprintf("spillway %s\ncommit: %s\ngo: %s\n", b.Version, commit, b.GoVersion)
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	fmt.Fprint(stdout, readBuildInfo())
	return nil
}

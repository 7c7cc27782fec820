package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/lambdaws/lambdaws/local"
)

const usage = `lambdaws: tools for WebSocket back ends on API Gateway and Lambda.

Usage:
  lambdaws local [flags]   serve a SAM template's WebSocket API on this machine
  lambdaws version         print the version of lambdaws (also --version)

Run "lambdaws local -h" for its flags.
`

func main() {
	// The first SIGINT or SIGTERM ends ctx: a graceful stop. A second one,
	// while that stop waits (for a hung $disconnect, say), closes hurry.
	ctx, stop := context.WithCancel(context.Background())
	hurry := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		// Said at once: the $disconnects of open connections, or a build,
		// may take a while.
		fmt.Fprintln(os.Stderr, "lambdaws: stopping: closing connections (their $disconnect runs); interrupt again to stop at once")
		stop()
		<-sigs
		close(hurry)
	}()
	err := run(ctx, hurry, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp): // -h: the usage was printed
	case err != nil:
		fmt.Fprintln(os.Stderr, "lambdaws:", err)
		os.Exit(2)
	}
}

// run runs the command of args until it ends or ctx is done. If hurry is
// closed while it stops, it ends the functions' processes and returns an
// error saying so at once.
func run(ctx context.Context, hurry <-chan struct{}, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "local":
		return runLocal(ctx, hurry, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "version", "-version", "--version":
		info, _ := debug.ReadBuildInfo()
		fmt.Fprintln(stdout, version(info))
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// version describes the build of lambdaws: its module version (v1.2.3 when
// installed with go install ...@v1.2.3, "(devel)" when built from a clone),
// the VCS revision it was built from, and the Go version.
func version(info *debug.BuildInfo) string {
	if info == nil {
		return "lambdaws (no build information)"
	}
	v := "lambdaws " + orDevel(info.Main.Version)
	var rev, at, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		v += ", revision " + rev
		if at != "" {
			v += " (" + at + ")"
		}
		if modified == "true" {
			v += " with uncommitted changes"
		}
	}
	return v + ", " + info.GoVersion
}

func orDevel(v string) string {
	if v == "" {
		return "(devel)"
	}
	return v
}

// templateNames are where lambdaws local looks for a template without
// --template, in order, as SAM CLI does: sam build's
// .aws-sam/build/template.yaml, else template.yaml, else template.yml.
var templateNames = []string{filepath.Join(".aws-sam", "build", "template.yaml"), "template.yaml", "template.yml"}

// defaultTemplate is the template without --template: the first of
// templateNames that exists.
func defaultTemplate() (string, error) {
	for _, name := range templateNames {
		if _, err := os.Stat(name); err == nil {
			return name, nil
		}
	}
	dir, _ := os.Getwd()
	return "", fmt.Errorf("local: no template in %s (looked for %s): run lambdaws local in the folder of your template.yaml, or name it with --template FILE", dir, strings.Join(templateNames, ", "))
}

// checkAddr checks a --addr value (HOST:PORT, HOST a name or an address, or
// empty) before anything is built, and that it can be listened on (a port
// in use is refused then, not after the builds).
func checkAddr(addr string) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q is not HOST:PORT (:8080, 127.0.0.1:8080, [::1]:8080)", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("--addr %q: port %q is not a number from 0 to 65535", addr, port)
	}
	if net.ParseIP(host) == nil && strings.Trim(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != "" {
		return fmt.Errorf("--addr %q: %q is neither a host name nor an IP address", addr, host)
	}
	ln, err := local.Listen(addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", addr, err)
	}
	return ln.Close()
}

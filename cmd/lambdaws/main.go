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
	"strconv"
	"strings"
	"syscall"

	"github.com/lambdaws/lambdaws/local"
)

const usage = `lambdaws: tools for WebSocket back ends on API Gateway and Lambda.

Usage:
  lambdaws local [flags]   serve a SAM template's WebSocket API on this machine

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
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// defaultTemplate is the template without --template, as SAM CLI finds it:
// sam build's .aws-sam/build/template.yaml, else template.yaml, else
// template.yml.
func defaultTemplate() string {
	for _, name := range []string{filepath.Join(".aws-sam", "build", "template.yaml"), "template.yaml", "template.yml"} {
		if _, err := os.Stat(name); err == nil {
			return name
		}
	}
	return "template.yaml"
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

package main

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// dynaliteFiles are the npm project lambdaws installs dynalite from (its
// package.json pins the version of tools/package.json, its lock file the
// whole tree, for `npm ci`) and the launcher it runs it with.
//
//go:embed dynalite/package.json dynalite/package-lock.json dynalite/launch.cjs
var dynaliteFiles embed.FS

// dynaliteVersion is the version of dynalite that lambdaws installs.
func dynaliteVersion() string {
	b, _ := dynaliteFiles.ReadFile("dynalite/package.json")
	var p struct{ Dependencies map[string]string }
	json.Unmarshal(b, &p)
	return p.Dependencies["dynalite"]
}

// dynamoDB is where the functions' DynamoDB calls go.
type dynamoDB struct {
	endpoint string            // "": the account's
	create   bool              // lambdaws creates the template's missing tables there
	started  bool              // lambdaws started it (credentials do not matter)
	env      map[string]string // for the functions' ExtraEnv
	stop     func()            // stops what lambdaws started
}

// How to get a local DynamoDB without node, for the warnings.
const howLocalDynamoDB = "for a local one, install Node.js with npm (lambdaws then starts dynalite itself), " +
	"or start DynamoDB Local and run lambdaws local --dynamodb http://127.0.0.1:8000"

// startDynamoDB chooses the functions' DynamoDB from --dynamodb (f.dynamodb)
// and environ (this shell's variables), and starts dynalite when the
// template has tables and nothing else is chosen:
//   - "aws": the account's, deliberately;
//   - a URL: that endpoint, where the template's missing tables are created;
//   - "", with AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL set in the
//     shell: that endpoint, as before (tables created with --create-tables
//     only);
//   - otherwise, when the template has tables, or with "local" or
//     --dynamodb-dir: dynalite, installed with npm into the user's cache
//     once, in memory or in --dynamodb-dir, with the template's tables;
//     without node or npm, the account's, with a warning (an error when
//     "local" or --dynamodb-dir asked for it).
func startDynamoDB(ctx context.Context, f *localFlags, environ map[string]string, tables []*sam.Table, out io.Writer) (*dynamoDB, error) {
	db := &dynamoDB{stop: func() {}}
	shell := cmpOr(environ["AWS_ENDPOINT_URL_DYNAMODB"], environ["AWS_ENDPOINT_URL"])
	if f.dynamoDir != "" && f.dynamodb != "" && f.dynamodb != "local" {
		return nil, fmt.Errorf("--dynamodb-dir is the folder of the local DynamoDB lambdaws starts: it does not go with --dynamodb %s", f.dynamodb)
	}
	switch {
	case f.dynamodb == "aws":
		if f.createTables {
			return nil, errors.New("--create-tables with --dynamodb aws: lambdaws does not create tables in the account; deploy them")
		}
		// Not the shell's endpoint: the account, as asked.
		db.env = map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": ""}
		if len(tables) > 0 {
			fmt.Fprintf(out, "warning: --dynamodb aws: the functions use the account's DynamoDB (tables %s), with this shell's credentials\n", tableNames(tables))
		}
		return db, nil
	case f.dynamodb != "" && f.dynamodb != "local":
		u, err := url.Parse(f.dynamodb)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--dynamodb %q: want aws, local, or an endpoint URL such as http://127.0.0.1:8000", f.dynamodb)
		}
		db.endpoint, db.create = f.dynamodb, true
	case shell != "" && f.dynamodb == "" && f.dynamoDir == "":
		if f.createTables && environ["AWS_ENDPOINT_URL_DYNAMODB"] == "" {
			return nil, errors.New("--create-tables creates tables in a local DynamoDB: set AWS_ENDPOINT_URL_DYNAMODB, or use --dynamodb URL")
		}
		// The functions get the shell's variables already.
		db.endpoint, db.create = shell, f.createTables
		return db, nil
	case len(tables) == 0 && f.dynamodb == "" && f.dynamoDir == "":
		return db, nil
	default:
		endpoint, stop, err := startDynalite(ctx, f.dynamoDir, out)
		if errors.Is(err, errNoNode) && f.dynamodb == "" && f.dynamoDir == "" {
			fmt.Fprintf(out, "warning: the template has DynamoDB tables (%s) and no local DynamoDB could be started: %v. "+
				"The functions use the account's DynamoDB, with this shell's credentials; %s\n", tableNames(tables), err, howLocalDynamoDB)
			return db, nil
		}
		if err != nil {
			return nil, err
		}
		db.endpoint, db.create, db.started, db.stop = endpoint, true, true, stop
		where := "in memory: its tables are gone when lambdaws stops"
		if f.dynamoDir != "" {
			where = "in " + f.dynamoDir
		}
		fmt.Fprintf(out, "local DynamoDB (dynalite %s) at %s, %s\n", dynaliteVersion(), endpoint, where)
	}
	db.env = map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": db.endpoint}
	if !hasCredentials(environ) {
		// The SDKs sign every request; a local DynamoDB takes any key.
		db.env["AWS_ACCESS_KEY_ID"], db.env["AWS_SECRET_ACCESS_KEY"] = "local", "local"
	}
	return db, nil
}

// cmpOr is cmp.Or for two strings.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func tableNames(tables []*sam.Table) string {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// hasCredentials reports whether the functions find AWS credentials in
// environ or the shared files.
func hasCredentials(environ map[string]string) bool {
	if environ["AWS_ACCESS_KEY_ID"] != "" || environ["AWS_PROFILE"] != "" {
		return true
	}
	home, _ := os.UserHomeDir()
	for _, path := range []string{
		environ["AWS_SHARED_CREDENTIALS_FILE"], environ["AWS_CONFIG_FILE"],
		filepath.Join(home, ".aws", "credentials"), filepath.Join(home, ".aws", "config"),
	} {
		if _, err := os.Stat(path); path != "" && err == nil {
			return true
		}
	}
	return false
}

// errNoNode is the error of startDynalite without node or npm.
var errNoNode = errors.New("dynalite needs node and npm, which are not on PATH")

// startDynalite installs dynalite if needed and starts it on a free
// loopback port, storing its tables in dir ("": in memory). stop ends it;
// it also ends when lambdaws does, however lambdaws ends (its stdin closes;
// on Linux it is also killed with lambdaws).
func startDynalite(ctx context.Context, dir string, out io.Writer) (endpoint string, stop func(), err error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", nil, errNoNode
	}
	home, err := installDynalite(ctx, out)
	if err != nil {
		return "", nil, err
	}
	launcher, _ := dynaliteFiles.ReadFile("dynalite/launch.cjs")
	launch := filepath.Join(home, "launch.cjs")
	if err := os.WriteFile(launch, launcher, 0o644); err != nil {
		return "", nil, err
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("--dynamodb-dir: %w", err)
		}
	}
	cmd := exec.Command(node, launch, dir)
	cmd.SysProcAttr = childProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting dynalite: %w", err)
	}
	exited := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cmd.Wait()
		close(exited)
	}()
	stop = func() {
		stdin.Close() // it exits when its stdin closes
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			killChild(cmd)
		}
		wg.Wait()
	}
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				select {
				case port <- p:
				default:
				}
			}
		}
	}()
	select {
	case p := <-port:
		return "http://127.0.0.1:" + p, stop, nil
	case <-exited:
		stop()
		return "", nil, fmt.Errorf("dynalite exited at start: %v\n%s", cmd.ProcessState, tail(stderr.String(), 2048))
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, fmt.Errorf("dynalite did not start within 30 s\n%s", tail(stderr.String(), 2048))
	case <-ctx.Done():
		stop()
		return "", nil, errors.New("interrupted: stopped dynalite's start")
	}
}

// installDynalite installs the pinned dynalite with npm ci, once, into
// the user's cache (os.UserCacheDir()/lambdaws/dynalite/VERSION), and
// returns that folder. It installs into a temporary folder that it renames,
// so that an interrupted install leaves nothing half-done and two lambdaws
// starting at once both find a whole one.
func installDynalite(ctx context.Context, out io.Writer) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	home := filepath.Join(cache, "lambdaws", "dynalite", dynaliteVersion())
	if _, err := os.Stat(filepath.Join(home, "node_modules", "dynalite", "package.json")); err == nil {
		return home, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", errNoNode
	}
	if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(out, "installing dynalite %s (a local DynamoDB) with npm into %s, once\n", dynaliteVersion(), home)
	tmp, err := os.MkdirTemp(filepath.Dir(home), ".install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, _ := dynaliteFiles.ReadFile("dynalite/" + name)
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return "", err
		}
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	if b, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", errors.New("interrupted: stopped the install of dynalite")
		}
		return "", fmt.Errorf("installing dynalite with npm ci in %s: %v\n%s\n(without network, use --dynamodb URL for another local DynamoDB, or --dynamodb aws)", tmp, err, tail(string(b), 4096))
	}
	if err := os.Rename(tmp, home); err != nil {
		if _, serr := os.Stat(filepath.Join(home, "node_modules", "dynalite", "package.json")); serr != nil {
			return "", err
		}
		// Another lambdaws installed it meanwhile.
	}
	return home, nil
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

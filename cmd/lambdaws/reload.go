package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lambdaws/lambdaws/local"
)

// Reloading a template. An edit of the template (or of the --env-vars
// file) is applied once the file stays the same for one poll (so that a
// half-written file is not read): the new version is loaded and validated,
// its tables created, its functions built, and the gateway's routes and
// authorizer replaced at once (local.Gateway.SetRoutes). Open connections
// stay open, as on API Gateway when a stage is redeployed; their next
// messages take the new routes. Functions that did not change keep their
// environments; new and changed ones get new environments; the previous
// environments of changed and removed ones are closed, failing what they
// were running. When anything fails, the error is printed and the previous
// version keeps serving. The API's stage, stage variables and
// RouteSelectionExpression are fixed while serving: an edit of them is
// refused with a message to restart.

// pollInterval is how often the template and the sources are checked.
const pollInterval = 500 * time.Millisecond

// watch applies edits of the template to g and rebuilds the functions
// whose sources change until ctx is done. a is the version served; watch
// returns the version served last.
func (s *session) watch(ctx context.Context, g *local.Gateway, a *app) *app {
	applied := s.read // an edit made while building is seen
	pending := applied
	for {
		bctx, stopBuilds := context.WithCancel(ctx)
		built := make(chan struct{})
		go func() {
			defer close(built)
			a.builds.watch(bctx, a.rebuilt)
		}()
		edited := s.waitEdit(ctx, applied, &pending)
		stopBuilds()
		<-built
		if !edited {
			return a
		}
		fmt.Fprintf(s.out, "template %s changed: reloading\n", s.f.template)
		next, err := s.reload(ctx, g, a)
		applied = s.read
		if err != nil {
			fmt.Fprintf(s.out, "error: reloading the template: %v\nthe previous version of the template keeps serving\n", err)
			continue
		}
		a = next
	}
}

// waitEdit polls the template until its fingerprint differs from applied
// and stays the same for a poll (true), or ctx is done (false). pending
// holds the fingerprint last seen.
func (s *session) waitEdit(ctx context.Context, applied string, pending *string) bool {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
		fp := s.fingerprint()
		if fp != *pending {
			*pending = fp
			continue
		}
		if fp != applied {
			return true
		}
	}
}

// fingerprint sums the template and the --env-vars file ("" when one cannot
// be read).
func (s *session) fingerprint() string {
	h := sha256.New()
	for _, path := range []string{s.f.template, s.f.envVars} {
		if path == "" {
			continue
		}
		b, _ := os.ReadFile(path)
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	return string(h.Sum(nil))
}

// reload loads the template again and serves it on g in place of a.
func (s *session) reload(ctx context.Context, g *local.Gateway, a *app) (*app, error) {
	tpl, err := s.load()
	if err != nil {
		return nil, err
	}
	was, api := a.tpl.API, tpl.API
	switch {
	case was.LogicalID != api.LogicalID:
		err = fmt.Errorf("the API served is now %s, not %s", api.LogicalID, was.LogicalID)
	case was.Stage != api.Stage:
		err = fmt.Errorf("the stage is now %s, not %s", api.Stage, was.Stage)
	case !maps.Equal(was.StageVariables, api.StageVariables):
		err = errors.New("the stage variables changed")
	case was.RouteSelectionExpression != api.RouteSelectionExpression:
		err = fmt.Errorf("the RouteSelectionExpression is now %s, not %s", api.RouteSelectionExpression, was.RouteSelectionExpression)
	}
	if err != nil {
		return nil, fmt.Errorf("%v, which a running gateway cannot change: restart lambdaws local to apply the template", err)
	}
	next, err := s.prepare(ctx, tpl, a)
	if err != nil {
		return nil, err
	}
	routes, auth, err := gatewayOptions(api, next.fns)
	if err == nil {
		err = g.SetRoutes(routes, auth)
	}
	if err != nil {
		next.close(a)
		return nil, err
	}
	a.close(next)
	var fresh, gone []string
	for id, fn := range next.fns {
		if a.fns[id] != fn {
			fresh = append(fresh, id)
		}
	}
	for id := range a.fns {
		if next.fns[id] == nil {
			gone = append(gone, id)
		}
	}
	fmt.Fprintf(s.out, "reloaded template %s (new environments for: %s; removed: %s)\n", s.f.template, list(fresh), list(gone))
	printRoutes(s.out, tpl)
	return next, nil
}

// list returns ids sorted and joined, or "none".
func list(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	slices.Sort(ids)
	return strings.Join(ids, ", ")
}

// rebuilt resets the functions of a built from codeURI, after their
// binary was rebuilt.
func (a *app) rebuilt(codeURI string) {
	for id, fn := range a.tpl.Functions {
		if fn.CodeURI == codeURI {
			a.fns[id].Reset()
		}
	}
}

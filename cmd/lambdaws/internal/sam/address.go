package sam

import (
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/lambdaws/lambdaws/internal/apigw"
)

// apiID is the id of the API with logical id id, the same value for Ref,
// Fn::GetAtt ApiId, the events' requestContext.apiId and the authorizer's
// methodArn: 10 letters and digits like a deployed API's.
func apiID(id string) string { return apigw.APIID("api/" + id) }

// apiHost is the host name of an API's default endpoint on AWS.
func apiHost(id, region, suffix string) string {
	return id + ".execute-api." + region + "." + suffix
}

// rewriteHosts points values that name the API's execute-api host (the
// callback URL CDK hands a function, a wss:// ApiEndpoint, a URL a template
// builds with Fn::Sub or Fn::Join) at addr, the local API's host:port, in
// the functions' environment variables and the stage variables. It records
// each rewrite in t.Rewrites.
func (l *loader) rewriteHosts(addr string) {
	api := l.t.API
	// Any region and either partition's suffix: the value may have been
	// built with a hard-coded region.
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(api.ID) + `\.execute-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\b`)
	rewrite := func(where string, vars map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			v := vars[k]
			if nv := re.ReplaceAllLiteralString(v, addr); nv != v {
				vars[k] = nv
				l.t.Rewrites = append(l.t.Rewrites, fmt.Sprintf("%s %s: %s → %s", where, k, v, nv))
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(l.t.Functions)) {
		rewrite("function "+id+", variable", l.t.Functions[id].Environment)
	}
	rewrite("stage variable", api.StageVariables)
}

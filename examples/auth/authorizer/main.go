// Command authorizer is the Lambda REQUEST authorizer of the auth example:
// it allows a connection whose token query parameter is one of TOKENS
// ("token=user,token2=user2"), and attaches the user to the connection.
// A missing token never reaches it (API Gateway answers 401 first); an
// unknown one is refused with 401, a token of a user in BANNED with 403,
// both with ws.Reject as an OnConnect handler refuses.
package main

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lambdaws/lambdaws/ws"
)

// parse reads "key=value,key2=value2".
func parse(s string) map[string]string {
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(pair), "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

func main() {
	users := parse(os.Getenv("TOKENS"))
	banned := strings.Split(os.Getenv("BANNED"), ",")
	lambda.Start(ws.AuthorizerHandler(func(ctx context.Context, req *ws.Request) (string, map[string]any, error) {
		name, ok := users[req.Query("token")]
		switch {
		case !ok:
			return "", nil, ws.Reject(http.StatusUnauthorized, "unknown token")
		case slices.Contains(banned, name):
			return "", nil, ws.Reject(http.StatusForbidden, "banned")
		}
		return name, map[string]any{"user": name}, nil
	}))
}

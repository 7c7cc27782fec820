package ws

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// TestLambdaEndpoint: the emulator's Invoke API is found from an event it
// made (its own loopback address) during a Lambda invocation, or from a
// loopback AWS_ENDPOINT_URL_LAMBDA; anything else uses the AWS
// configuration, and a domain is never trusted outside an invocation.
func TestLambdaEndpoint(t *testing.T) {
	inLambda := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{})
	for _, tt := range []struct {
		ctx         context.Context
		domain, env string
		want        string
	}{
		{inLambda, "127.0.0.1:8080", "", "http://127.0.0.1:8080"},
		{inLambda, "[::1]:8080", "", "http://[::1]:8080"},
		{inLambda, "abc.execute-api.us-east-1.amazonaws.com", "", ""},
		{context.Background(), "127.0.0.1:8080", "", ""}, // package grip: the domain is the client's Host
		{inLambda, "abc.execute-api.us-east-1.amazonaws.com", "http://127.0.0.1:9000/", "http://127.0.0.1:9000"},
		{inLambda, "abc.execute-api.us-east-1.amazonaws.com", "https://lambda.example.com", ""},
	} {
		t.Setenv("AWS_ENDPOINT_URL_LAMBDA", tt.env)
		rc := &events.APIGatewayWebsocketProxyRequestContext{DomainName: tt.domain}
		if got := lambdaEndpoint(tt.ctx, rc); got != tt.want {
			t.Errorf("domain %q, env %q: %q, want %q", tt.domain, tt.env, got, tt.want)
		}
	}
}

// TestLambdaClientFromConfig: the client for AWS is made from the AWS
// configuration as Lambda's environment gives it: no CA bundle, no profile,
// and so no HTTP client in the configuration.
func TestLambdaClientFromConfig(t *testing.T) {
	for _, k := range []string{"AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	var l lambdas
	c, err := l.get(context.Background(), "")
	if err != nil || c == nil {
		t.Fatalf("client %v, error %v", c, err)
	}
	if again, _ := l.get(context.Background(), ""); again != c {
		t.Error("the client was not kept")
	}
}

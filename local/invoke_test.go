package local_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// TestInvokeAPI calls the gateway's Lambda Invoke API with the real
// aws-sdk-go-v2 client, as a function invoking another does.
func TestInvokeAPI(t *testing.T) {
	type in struct{ Name string }
	echo := lambdaenv.New(func(_ context.Context, v in) (string, error) { return "hello " + v.Name, nil },
		&lambdaenv.Options{Name: "echo", Logger: discard})
	defer echo.Close()
	fail := lambdaenv.New(func(context.Context, in) (string, error) { return "", errors.New("boom") },
		&lambdaenv.Options{Name: "fail", Logger: discard})
	defer fail.Close()
	got := make(chan string, 1)
	event := lambdaenv.New(func(_ context.Context, v in) error { got <- v.Name; return nil },
		&lambdaenv.Options{Name: "event", Logger: discard})
	defer event.Close()
	g := local.New(nil, &local.Options{Logger: discard,
		Routes: map[string]local.Route{"$default": {Function: echo}}, Functions: []*lambdaenv.Function{fail, event}})
	h := serve(t, g)
	client := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(h.srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := context.Background()

	for _, name := range []string{"echo", "123456789012:function:echo", "arn:aws:lambda:us-east-1:123456789012:function:echo", "echo:$LATEST"} {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"Name":"ann"}`)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.StatusCode != 200 || string(out.Payload) != `"hello ann"` || out.FunctionError != nil {
			t.Errorf("%s: status %d, payload %s, function error %v", name, out.StatusCode, out.Payload, aws.ToString(out.FunctionError))
		}
	}

	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("fail"), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorMessage":"boom"`) {
		t.Errorf("function error: status %d, X-Amz-Function-Error %q, payload %s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}

	out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("event"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"Name":"bob"}`)})
	if err != nil || out.StatusCode != http.StatusAccepted {
		t.Fatalf("Event: %v, %+v", err, out)
	}
	select {
	case name := <-got:
		if name != "bob" {
			t.Errorf("Event invocation got %q", name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Event invocation did not run")
	}

	out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("event"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != http.StatusNoContent {
		t.Fatalf("DryRun: %v, %+v", err, out)
	}
	select {
	case <-got:
		t.Error("DryRun invoked the function")
	default:
	}

	for _, name := range []string{"nope", "arn:aws:lambda:us-east-1:999999999999:function:echo"} {
		_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name)})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("%s: %v, want ResourceNotFoundException", name, err)
		}
	}
	_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`not json`)})
	var bad *types.InvalidRequestContentException
	if !errors.As(err, &bad) {
		t.Errorf("invalid JSON: %v, want InvalidRequestContentException", err)
	}
}

// TestInvokeAPIRefusesBrowsersAndForeignHosts: like the Runtime API, the
// Invoke API answers only this machine's processes, never a page.
func TestInvokeAPIRefusesBrowsersAndForeignHosts(t *testing.T) {
	h := start(t, &local.Options{Logger: discard}, nil)
	for name, set := range map[string]func(*http.Request){
		"Origin":         func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") },
		"Sec-Fetch-Site": func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-origin") },
		"foreign Host":   func(r *http.Request) { r.Host = "evil.example:8080" },
	} {
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/2015-03-31/functions/function/invocations", strings.NewReader(`{}`))
		set(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-ErrorType") != "AccessDeniedException" {
			t.Errorf("%s: status %d %s, want 403 AccessDeniedException", name, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	}
}

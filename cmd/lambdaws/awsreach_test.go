package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// TestAWSReach checks the warnings of functions and tables that would reach
// the account's AWS. The test binary links no aws-sdk-go v1 and a script is
// no Go binary: neither is named; the v1 case runs in the integration tests.
func TestAWSReach(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tpl := &sam.Template{
		Functions: map[string]*sam.Function{
			"Go":     {LogicalID: "Go", CodeURI: "go"},
			"Script": {LogicalID: "Script", CodeURI: "script", Environment: map[string]string{"AWS_ENDPOINT_URL_S3": "http://x"}},
		},
		Tables: []*sam.Table{{LogicalID: "T", Name: "things"}, {LogicalID: "U", Name: "users"}},
	}
	binary := func(fn *sam.Function) string {
		if fn.CodeURI == "go" {
			return self
		}
		return script
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, "DynamoDB tables (things, users) and AWS_ENDPOINT_URL_DYNAMODB is unset"},
		{[]string{"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000"}, ""},
		{[]string{"AWS_ENDPOINT_URL=http://127.0.0.1:4566"}, ""},
		{[]string{"AWS_ENDPOINT_URL_DYNAMODB="}, "AWS_ENDPOINT_URL_DYNAMODB is unset"},
	} {
		got := strings.Join(awsReach(tpl, binary, tc.env), "\n")
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("env %v: %q, want %q", tc.env, got, tc.want)
		}
	}
}

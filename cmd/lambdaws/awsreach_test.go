package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// TestAWSReach checks that functions whose binaries do not link aws-sdk-go
// v1 are not named, whatever the endpoints. The test binary links no
// aws-sdk-go v1 and a script is no Go binary; the v1 case runs in the
// integration tests.
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
		Tables: []*sam.Table{{LogicalID: "T", Name: "things"}},
	}
	binary := func(fn *sam.Function) string {
		if fn.CodeURI == "go" {
			return self
		}
		return script
	}
	for _, env := range [][]string{nil, {"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000"}, {"AWS_ENDPOINT_URL=http://127.0.0.1:4566"}} {
		if got := strings.Join(awsReach(tpl, binary, env), "\n"); got != "" {
			t.Errorf("env %v: %q, want nothing", env, got)
		}
	}
}

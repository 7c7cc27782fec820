package main

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"go install @version", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v0.3.0"}},
			"lambdaws v0.3.0, go1.26.1"},
		{"from a clone", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "c132192abc"}, {Key: "vcs.time", Value: "2026-12-07T01:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		}}, "lambdaws (devel), revision c132192abc (2026-12-07T01:00:00Z) with uncommitted changes, go1.26.1"},
		{"clean clone", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: ""}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "c132192abc"}, {Key: "vcs.modified", Value: "false"},
		}}, "lambdaws (devel), revision c132192abc, go1.26.1"},
		{"none", nil, "lambdaws (no build information)"},
	} {
		if got := version(tc.info); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestRunVersion(t *testing.T) {
	info, _ := debug.ReadBuildInfo()
	for _, arg := range []string{"version", "--version"} {
		var out, errOut strings.Builder
		if err := run(context.Background(), nil, []string{arg}, &out, &errOut); err != nil || out.String() != version(info)+"\n" {
			t.Errorf("%s: %v, %q (stderr %q)", arg, err, out.String(), errOut.String())
		}
	}
}

// TestNoTemplate: without --template and without a template where SAM CLI
// looks, the error says where it looked and names --template.
func TestNoTemplate(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var out, errOut strings.Builder
	err := run(context.Background(), nil, []string{"local", "--addr", "127.0.0.1:0"}, &out, &errOut)
	want := "local: no template in " + dir + " (looked for .aws-sam/build/template.yaml, template.yaml, template.yml): run lambdaws local in the folder of your template.yaml, or name it with --template FILE"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

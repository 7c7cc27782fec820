package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

func TestChromium(t *testing.T) {
	path := Chromium(t)
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", path, err)
	}
	if v := string(out); !strings.Contains(v, "Chromium") && !strings.Contains(v, "Chrome") {
		t.Fatalf("%s --version: %q", path, v)
	}
}

// TestIntegrationGate: without LAMBDAWS_INTEGRATION=1 a component's test is
// skipped, saying how to run it, even when the component is installed.
func TestIntegrationGate(t *testing.T) {
	t.Setenv(IntegrationEnv, "")
	for name, start := range map[string]func(testing.TB){
		"Chromium": func(t testing.TB) { Chromium(t) },
		"dynalite": func(t testing.TB) { Dynalite(t) },
		"Pushpin":  func(t testing.TB) { Pushpin(t, "* 127.0.0.1:1") },
	} {
		skipped := false
		t.Run(name, func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			start(t)
		})
		if !skipped {
			t.Errorf("%s ran without %s=1", name, IntegrationEnv)
		}
	}
}

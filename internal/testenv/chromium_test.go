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

func TestChromiumEnvMissing(t *testing.T) {
	t.Setenv(ChromiumEnv, "/nonexistent/chromium")
	t.Setenv(IntegrationEnv, "")
	skipped := false
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Chromium(t)
	})
	if !skipped {
		t.Fatal("Chromium with a missing LAMBDAWS_CHROMIUM did not skip")
	}
}

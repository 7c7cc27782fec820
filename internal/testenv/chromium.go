package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// ChromiumEnv names an environment variable that, when set, is the Chromium
// (or Chrome) executable Chromium returns.
const ChromiumEnv = "LAMBDAWS_CHROMIUM"

// Chromium returns the path of a Chromium or Google Chrome executable for
// headless browser checks: $LAMBDAWS_CHROMIUM, else the first of chromium,
// chromium-browser, google-chrome and google-chrome-stable on PATH, else
// /usr/bin/chromium. It is for integration tests only: see Integration.
// Without one the test fails; `make test` installs Debian's chromium
// package when it is missing.
func Chromium(t testing.TB) string {
	t.Helper()
	Integration(t, "Chromium")
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			Require(t, ChromiumEnv+"="+p+" does not exist", "unset it or point it at a Chromium executable")
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	Require(t, "no Chromium or Chrome executable found", "run `make test` (scripts/deps.sh installs Debian's chromium), apt-get install chromium, or set "+ChromiumEnv)
	return ""
}

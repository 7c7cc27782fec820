package local_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lambdaws/lambdaws/internal/testenv"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binDir holds the test programs buildTestdata built, removed by TestMain.
var (
	binDir    string
	buildOnce sync.Once
	buildErr  error
)

// buildTestdata returns the path of test program name: testdata/wsecho, or
// a program of package lambdaenv's testdata (badinit). It builds them all
// the first time.
func buildTestdata(t testing.TB, name string) string {
	t.Helper()
	testenv.Integration(t, "builds and runs Lambda binaries")
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH: cannot build the testdata Lambda binaries")
	}
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "lambdaws-local-"); buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", binDir+string(filepath.Separator),
			"./testdata/wsecho", "./lambdaenv/testdata/badinit").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// newBinary is lambdaenv.NewBinary closed by the test's cleanup.
func newBinary(t *testing.T, path string, opts *lambdaenv.Options) *lambdaenv.Function {
	t.Helper()
	f, err := lambdaenv.NewBinary(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

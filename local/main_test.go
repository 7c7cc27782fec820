package local_test

import (
	"os"
	"testing"

	"github.com/lambdaws/lambdaws/local"
)

func TestMain(m *testing.M) {
	code := m.Run()
	local.RemoveTestBinaries()
	os.Exit(code)
}

package connstore_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/connstore"
)

// TestMemoryWarning runs NewMemory three times in a new process: inside a
// Lambda execution environment (AWS_LAMBDA_FUNCTION_NAME set) it warns once,
// naming the DynamoDB store; elsewhere it says nothing.
func TestMemoryWarning(t *testing.T) {
	if os.Getenv("CONNSTORE_MEMORY_CHILD") == "1" {
		for range 3 {
			connstore.NewMemory()
		}
		return
	}
	for _, tc := range []struct {
		name string
		env  []string
		want int
	}{
		{"in Lambda", []string{"AWS_LAMBDA_FUNCTION_NAME=chat"}, 1},
		{"elsewhere", nil, 0},
		{"empty name", []string{"AWS_LAMBDA_FUNCTION_NAME="}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryWarning$")
			cmd.Env = append(os.Environ(), "CONNSTORE_MEMORY_CHILD=1", "AWS_LAMBDA_LOG_FORMAT=")
			cmd.Env = append(cmd.Env, tc.env...)
			if tc.env == nil {
				cmd.Env = append(cmd.Env, "AWS_LAMBDA_FUNCTION_NAME=")
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got := strings.Count(string(out), "connstore: NewMemory in a Lambda execution environment")
			if got != tc.want {
				t.Errorf("%d warnings, want %d:\n%s", got, tc.want, out)
			}
			if tc.want > 0 && (!strings.Contains(string(out), "connstore.NewDynamoDB") || !strings.Contains(string(out), "function=chat")) {
				t.Errorf("the warning names neither connstore.NewDynamoDB nor the function:\n%s", out)
			}
		})
	}
}

//go:build !unix

package lambdaenv

import (
	"os"
	"os/exec"
)

// setProcessGroup does nothing: without process groups only the process
// itself is killed.
func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(p *os.Process) {
	p.Kill()
}

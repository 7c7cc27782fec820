//go:build unix

package testenv

import (
	"os/exec"
	"syscall"
)

func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	// A negative pid signals the whole group: node and anything it started.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

package main

import (
	"os/exec"
	"syscall"
)

// childProcAttr puts a helper process lambdaws starts (dynalite) in its own
// process group, and has Linux kill it when lambdaws's thread that started
// it dies.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killChild kills a process started with childProcAttr, and its children.
func killChild(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

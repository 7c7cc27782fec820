//go:build !unix

package main

import (
	"os/exec"
	"syscall"
)

// childProcAttr is the default: the helper ends when its stdin closes.
func childProcAttr() *syscall.SysProcAttr { return nil }

// killChild kills a helper process lambdaws started.
func killChild(cmd *exec.Cmd) { cmd.Process.Kill() }

//go:build !linux

package lambdaenv

// killStrays does nothing without Linux's /proc: a child that left the
// process's group (setsid) survives it.
func killStrays(pid int, marker string) {}

// listeningPorts knows nothing without Linux's /proc.
func listeningPorts(pid int) []int { return nil }

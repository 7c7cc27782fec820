//go:build !linux

package lambdaenv

import "net"

// killStrays does nothing without Linux's /proc: a child that left the
// process's group (setsid) survives it.
func killStrays(pid int, marker string) {}

// listeningPorts knows nothing without Linux's /proc.
func listeningPorts(pid int) []int { return nil }

// peerInTree cannot tell a connection's process without Linux's /proc: it
// accepts every connection, so another local program that finds a Runtime
// API's port can use it (browsers still cannot: see process.allowed).
func peerInTree(conn net.Conn, root int, marker string) bool { return true }

//go:build !unix

package main

// lockDir does nothing without flock: two lambdaws creating the local CA
// at once may replace each other's (both then read the one in place).
func lockDir(string) (unlock func(), err error) { return func() {}, nil }

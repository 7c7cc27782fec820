//go:build unix

package main

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on the folder dir, waiting for it, until
// unlock: lambdaws processes creating the local CA take turns.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: dir, Err: err}
	}
	return func() { f.Close() }, nil // closing releases the lock
}

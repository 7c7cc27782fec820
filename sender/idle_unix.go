//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sender

import (
	"crypto/tls"
	"syscall"
)

// idleChecked: [spoiled] can tell a connection the server closed.
const idleChecked = true

// spoiled reports whether the server closed c, or sent anything, while c
// was idle: an HTTP/1.1 server sends nothing unasked, so either way c must
// not carry another request. It reads a byte from the socket without
// blocking: nothing to read leaves c as it was, and anything read spoils it.
func spoiled(c *conn) bool {
	if c.br.Buffered() > 0 {
		return true
	}
	nc := c.Conn
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	readable := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		// The socket is non-blocking: EAGAIN means nothing to read.
		_, err := syscall.Read(int(fd), b[:])
		readable = err != syscall.EAGAIN && err != syscall.EINTR
		return true
	})
	return readable || err != nil
}

//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sender

// idleChecked: [spoiled] cannot tell a connection the server closed on
// this system; such a connection fails the next POST or DELETE on it.
const idleChecked = false

// spoiled reports whether the server sent anything while c was idle.
func spoiled(c *conn) bool { return c.br.Buffered() > 0 }

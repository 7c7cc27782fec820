package lambdaenv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// killStrays kills what a function's process pid started and its process
// group misses, such as a child that called setsid(): its descendants, and
// every process whose environment holds marker (its
// AWS_LAMBDA_LOG_STREAM_NAME entry, random for each process, which children
// inherit, so that orphans are found too). It scans again until a scan
// finds none, so that what they fork meanwhile ends too.
// A descendant that both left the process tree and cleared its environment
// escapes. A pid of 0 finds by the marker alone.
func killStrays(pid int, marker string) {
	for range 10 {
		found := strays(pid, []byte(marker))
		if len(found) == 0 {
			return
		}
		for _, p := range found {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// strays lists the live processes, other than root and this one, that hold
// marker in their environment or descend from root or from such a process,
// from /proc.
func strays(root int, marker []byte) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	parent := map[int]int{}
	marked := map[int]bool{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || pid == root {
			continue
		}
		// pid (comm) state ppid ...: comm may hold anything, even ") ".
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		i := bytes.LastIndexByte(stat, ')')
		if err != nil || i < 0 {
			continue
		}
		fields := bytes.Fields(stat[i+1:])
		if len(fields) < 2 || string(fields[0]) == "Z" {
			continue // ended, waiting to be reaped
		}
		parent[pid], _ = strconv.Atoi(string(fields[1]))
		if env, err := os.ReadFile("/proc/" + e.Name() + "/environ"); err == nil && hasEntry(env, marker) {
			marked[pid] = true
		}
	}
	// A stray is marked, or descends from root or a marked process.
	stray := func(pid int) bool {
		for n := 0; pid > 1 && n <= len(parent); pid, n = parent[pid], n+1 {
			if pid == root || marked[pid] {
				return true
			}
		}
		return false
	}
	var found []int
	for pid := range parent {
		if stray(pid) {
			found = append(found, pid)
		}
	}
	return found
}

// hasEntry reports whether environ, NUL-separated entries, holds entry.
func hasEntry(environ, entry []byte) bool {
	for e := range bytes.SplitSeq(environ, []byte{0}) {
		if bytes.Equal(e, entry) {
			return true
		}
	}
	return false
}

// listeningPorts lists the TCP ports process pid listens on, from /proc.
func listeningPorts(pid int) []int {
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return nil
	}
	sockets := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + fd.Name())
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			sockets[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var ports []int
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(table)
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !sockets[f[9]] { // 0A: LISTEN
				continue
			}
			if i := strings.LastIndexByte(f[1], ':'); i >= 0 {
				if port, err := strconv.ParseUint(f[1][i+1:], 16, 16); err == nil {
					ports = append(ports, int(port))
				}
			}
		}
	}
	return ports
}

// peerInTree reports whether the other end of conn, a loopback TCP
// connection accepted by this process, is a socket of process root or of one
// of its descendants or marked processes (those holding marker in their
// environment, as killStrays finds them): its inode, from /proc/net/tcp and
// tcp6, is among their open files. A socket of another user's process is
// not found (its /proc/{pid}/fd is unreadable), so it is refused too.
//
// Without a procfs to read (/proc/self/fd), it accepts every connection, as
// on other systems.
func peerInTree(conn net.Conn, root int, marker string) bool {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		return true
	}
	inode := socketInode(conn.RemoteAddr(), conn.LocalAddr())
	if inode == "" {
		return false
	}
	link := "socket:[" + inode + "]"
	if holds(root, link) {
		return true
	}
	for _, pid := range strays(root, []byte(marker)) {
		if holds(pid, link) {
			return true
		}
	}
	return false
}

// holds reports whether process pid has link (socket:[inode]) open.
func holds(pid int, link string) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(dir + fd.Name()); err == nil && l == link {
			return true
		}
	}
	return false
}

// socketInode returns the inode of the TCP socket whose local address is
// local and remote address remote, or "": asked of the kernel through
// sock_diag netlink (microseconds), else read from /proc/net/tcp and tcp6
// (milliseconds: the kernel lists every socket).
func socketInode(local, remote net.Addr) string {
	l, ok1 := local.(*net.TCPAddr)
	r, ok2 := remote.(*net.TCPAddr)
	if !ok1 || !ok2 {
		return ""
	}
	la := netip.AddrPortFrom(l.AddrPort().Addr().Unmap(), uint16(l.Port))
	ra := netip.AddrPortFrom(r.AddrPort().Addr().Unmap(), uint16(r.Port))
	if inode, ok := diagInode(la, ra); ok {
		return inode
	}
	return procInode(la, ra)
}

// procInode is socketInode from /proc/net/tcp and tcp6.
func procInode(la, ra netip.AddrPort) string {
	want := func(field string, a netip.AddrPort) bool {
		ap, err := procAddr(field)
		return err == nil && ap == a
	}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(table)
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) >= 10 && want(f[1], la) && want(f[2], ra) {
				return f[9]
			}
		}
	}
	return ""
}

// procAddr parses an address of /proc/net/tcp{,6}: the address's 32-bit
// words in hex, each in the host's byte order, a colon, the port in hex.
// IPv4-mapped IPv6 addresses are unmapped.
func procAddr(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if !ok || err != nil || (len(hexAddr) != 8 && len(hexAddr) != 32) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	ip := make([]byte, len(hexAddr)/2)
	for i := 0; i < len(hexAddr); i += 8 {
		w, err := strconv.ParseUint(hexAddr[i:i+8], 16, 32)
		if err != nil {
			return netip.AddrPort{}, err
		}
		binary.NativeEndian.PutUint32(ip[i/2:], uint32(w))
	}
	a, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
}

// diagInode asks the kernel, through a NETLINK_INET_DIAG socket, for the
// inode of the IPv4 TCP socket from local to remote (an exact lookup, as
// `ss` makes). ok is false when the kernel does not answer (no sock_diag
// support); then the caller reads /proc. An inode of "" means no such
// socket.
func diagInode(local, remote netip.AddrPort) (inode string, ok bool) {
	if !local.Addr().Is4() || !remote.Addr().Is4() {
		return "", false
	}
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, syscall.NETLINK_INET_DIAG)
	if err != nil {
		return "", false
	}
	defer syscall.Close(fd)
	tv := syscall.Timeval{Sec: 1}
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	// struct nlmsghdr, then struct inet_diag_req_v2 with its
	// inet_diag_sockid (ports and addresses in network order).
	const sockDiagByFamily = 20
	req := make([]byte, 16+56)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(req[6:], syscall.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(req[8:], 1) // sequence number
	r := req[16:]
	r[0], r[1] = syscall.AF_INET, syscall.IPPROTO_TCP
	binary.NativeEndian.PutUint32(r[4:], 0xffffffff) // every state
	binary.BigEndian.PutUint16(r[8:], local.Port())
	binary.BigEndian.PutUint16(r[10:], remote.Port())
	l4, r4 := local.Addr().As4(), remote.Addr().As4()
	copy(r[12:], l4[:])
	copy(r[28:], r4[:])
	binary.NativeEndian.PutUint32(r[48:], 0xffffffff) // no cookie
	binary.NativeEndian.PutUint32(r[52:], 0xffffffff)
	if err := syscall.Sendto(fd, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return "", false
	}
	buf := make([]byte, 4096)
	n, _, err := syscall.Recvfrom(fd, buf, 0)
	if err != nil || n < 16 {
		return "", false
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil || len(msgs) == 0 {
		return "", false
	}
	switch m := msgs[0]; m.Header.Type {
	case sockDiagByFamily:
		// struct inet_diag_msg: ..., idiag_uid at 64, idiag_inode at 68.
		if len(m.Data) < 72 {
			return "", false
		}
		return strconv.FormatUint(uint64(binary.NativeEndian.Uint32(m.Data[68:])), 10), true
	case syscall.NLMSG_ERROR:
		if len(m.Data) >= 4 && int32(binary.NativeEndian.Uint32(m.Data)) == -int32(syscall.ENOENT) {
			return "", true // no such socket
		}
	}
	return "", false
}

package lambdaenv

import (
	"net"
	"net/netip"
	"os"
	"testing"
)

func TestProcAddr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0100007F:1F90", "127.0.0.1:8080"},
		{"00000000000000000000000001000000:0050", "[::1]:80"},
		{"0000000000000000FFFF00000100007F:0050", "127.0.0.1:80"}, // IPv4-mapped
		{"0100007F", ""},
		{"0100007G:0050", ""},
		{"0100007F:10000", ""},
	} {
		got, err := procAddr(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("procAddr(%q) = %v; want an error", tc.in, got)
			}
			continue
		}
		if want := netip.MustParseAddrPort(tc.want); err != nil || got != want {
			t.Errorf("procAddr(%q) = %v, %v; want %v", tc.in, got, err, want)
		}
	}
}

// TestPeerInTree checks the Runtime API's peer check on a connection from
// this process: accepted for its own pid, refused for another tree.
func TestPeerInTree(t *testing.T) {
	server, client := loopbackPair(t)
	if !peerInTree(server, os.Getpid(), "LAMBDAWS_TEST_MARKER=none") {
		t.Error("a connection of process root was refused")
	}
	if peerInTree(server, os.Getppid(), "LAMBDAWS_TEST_MARKER=none") {
		t.Error("a connection of the parent's other child (this test) was accepted")
	}
	// sock_diag and /proc agree, both ways.
	for _, c := range [][2]net.Conn{{server, client}, {client, server}} {
		la, ra := unmapped(c[0].RemoteAddr()), unmapped(c[0].LocalAddr())
		diag, ok := diagInode(la, ra)
		if proc := procInode(la, ra); !ok || diag != proc || proc == "" {
			t.Errorf("inode of %v→%v: sock_diag %q (answered %v), /proc %q", la, ra, diag, ok, proc)
		}
	}
	client.Close()
}

// BenchmarkPeerInTree measures the check of a connection, made once per
// connection: found in the root process's files, or after a scan of /proc.
func BenchmarkPeerInTree(b *testing.B) {
	server, _ := loopbackPair(b)
	b.Run("root", func(b *testing.B) {
		for b.Loop() {
			peerInTree(server, os.Getpid(), "LAMBDAWS_TEST_MARKER=none")
		}
	})
	b.Run("refused", func(b *testing.B) {
		for b.Loop() {
			peerInTree(server, os.Getppid(), "LAMBDAWS_TEST_MARKER=none")
		}
	})
}

// loopbackPair returns both ends of a loopback TCP connection, closed by
// the test's cleanup.
func loopbackPair(tb testing.TB) (server, client net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	if client, err = net.Dial("tcp", ln.Addr().String()); err != nil {
		tb.Fatal(err)
	}
	if server, err = ln.Accept(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func unmapped(a net.Addr) netip.AddrPort {
	ap := a.(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func FuzzProcAddr(f *testing.F) {
	for _, s := range []string{"0100007F:1F90", "00000000000000000000000001000000:0050", ":", "0100007F:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ap, err := procAddr(s); err == nil && !ap.IsValid() {
			t.Errorf("procAddr(%q) = %v without an error", s, ap)
		}
	})
}

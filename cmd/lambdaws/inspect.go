package main

import (
	"net"
)

// loopbackAddr returns the address a browser on this machine reaches a
// listener on addr by: 127.0.0.1 for every interface (0.0.0.0, ::).
func loopbackAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

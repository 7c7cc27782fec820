package sender

import (
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// ResolveEndpoint returns the management API endpoint for the WebSocket API
// that sent an event, or "" when rc names no API. The first rule that applies
// wins:
//
//  1. The environment variable WEBSOCKET_API_GATEWAY_ENDPOINT, when set, is
//     returned as is (minus a trailing slash). Use it when the execute-api
//     endpoint is disabled or a proxy sits in front.
//  2. A loopback domainName — localhost, a *.localhost name, 127.0.0.1 (any
//     loopback address) or [::1], with or without a port — gives
//     http://{domainName}/{stage}: the local emulator speaks plain HTTP. Only
//     loopback hosts qualify, so an event's domainName can never send
//     unsigned requests, or signed ones over plain HTTP, to another machine.
//  3. With an apiId and a region (AWS_REGION, else AWS_DEFAULT_REGION) that
//     make a valid host name:
//     https://{apiId}.execute-api.{region}.amazonaws.com/{stage}, with
//     ".amazonaws.com.cn" in China ("cn-") regions. This is preferred over
//     domainName because it also works when clients connect through a custom
//     domain, whose domainName lacks the API mapping's base path.
//  4. Otherwise https://{domainName}/{stage}.
//
// A domainName that is not a DNS host name, an IPv4 address or an IPv6
// address in brackets, with an optional port, is never used; so every
// endpoint returned (the environment's aside) parses as a URL whose host is
// the one named by the event.
//
// An explicit endpoint passed to [NewForEndpoint] or [Pool.Get] overrides all
// of these.
func ResolveEndpoint(rc events.APIGatewayWebsocketProxyRequestContext) string {
	return resolveEndpoint(rc, os.Getenv)
}

// resolveEndpoint is ResolveEndpoint reading the environment with getenv.
func resolveEndpoint(rc events.APIGatewayWebsocketProxyRequestContext, getenv func(string) string) string {
	if env := getenv("WEBSOCKET_API_GATEWAY_ENDPOINT"); env != "" {
		return strings.TrimRight(env, "/")
	}
	domain, stage := rc.DomainName, rc.Stage
	host, ok := validHostPort(domain)
	if ok && loopbackHost(host) {
		return join("http://"+domain, stage)
	}
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if rc.APIID != "" && region != "" {
		suffix := ".amazonaws.com"
		if strings.HasPrefix(region, "cn-") {
			suffix = ".amazonaws.com.cn"
		}
		if h := rc.APIID + ".execute-api." + region + suffix; hostName(h) {
			return join("https://"+h, stage)
		}
	}
	if ok {
		return join("https://"+domain, stage)
	}
	return ""
}

func join(base, stage string) string {
	stage = strings.Trim(stage, "/")
	if stage == "" {
		return base
	}
	return base + "/" + url.PathEscape(stage)
}

// validHostPort reports whether domain is a host name (see hostName), an IPv4
// address or an IPv6 address in brackets, with an optional port (1-65535),
// and returns the host without brackets or port.
func validHostPort(domain string) (host string, ok bool) {
	host = domain
	if inner, ok := strings.CutPrefix(domain, "["); ok {
		i := strings.IndexByte(inner, ']')
		if i < 0 {
			return "", false
		}
		host, rest := inner[:i], inner[i+1:]
		if net.ParseIP(host) == nil || !strings.Contains(host, ":") {
			return "", false
		}
		return host, rest == "" || validPort(rest)
	}
	if i := strings.LastIndexByte(domain, ':'); i >= 0 {
		if !validPort(domain[i:]) {
			return "", false
		}
		host = domain[:i]
	}
	return host, hostName(host)
}

// validPort reports whether s is ":" and a port number from 1 to 65535.
func validPort(s string) bool {
	p, ok := strings.CutPrefix(s, ":")
	if !ok || p == "" || len(p) > 5 || strings.Trim(p, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n <= 65535
}

// hostName reports whether h is a DNS host name (which includes dotted IPv4
// addresses): at most 253 bytes of dot-separated labels of 1 to 63 letters,
// digits and hyphens, not starting or ending with a hyphen.
func hostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// loopbackHost reports whether host (without brackets or port) is localhost,
// a *.localhost name or a loopback IP address.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

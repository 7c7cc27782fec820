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
//  3. With an apiId and a region (AWS_REGION, else AWS_DEFAULT_REGION):
//     https://{apiId}.execute-api.{region}.amazonaws.com/{stage}, with
//     ".amazonaws.com.cn" in China ("cn-") regions. This is preferred over
//     domainName because it also works when clients connect through a custom
//     domain, whose domainName lacks the API mapping's base path.
//  4. Otherwise https://{domainName}/{stage}.
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
	if domain != "" && isLocal(domain) {
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
		return join("https://"+rc.APIID+".execute-api."+region+suffix, stage)
	}
	if domain != "" {
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

// isLocal reports whether domain (a host, with or without a port) is a
// loopback host, written so that http://{domain} is a valid URL: an IPv6
// address in brackets, a numeric port.
func isLocal(domain string) bool {
	host := domain
	if h, port, err := net.SplitHostPort(domain); err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return false
		}
		host = h
	} else if inner, ok := strings.CutPrefix(domain, "["); ok {
		if host, ok = strings.CutSuffix(inner, "]"); !ok {
			return false
		}
	} else if strings.Contains(domain, ":") {
		return false
	}
	return loopbackHost(host)
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

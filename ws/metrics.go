package ws

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/lambdaws/lambdaws/internal/emf"
	"github.com/lambdaws/lambdaws/internal/logs"
	"github.com/lambdaws/lambdaws/registry"
	"github.com/lambdaws/lambdaws/sender"
)

// Metric names, as they appear in CloudWatch.
const (
	metricConnects          = "Connects"
	metricDisconnects       = "Disconnects"
	metricMessages          = "Messages"
	metricRejected          = "Rejected"
	metricErrors            = "Errors"
	metricDuration          = "Duration"
	metricSent              = "Sent"
	metricGone              = "Gone"
	metricThrottled         = "Throttled"
	metricFailed            = "Failed"
	metricNotAttempted      = "NotAttempted"
	metricSendDuration      = "SendDuration"
	metricBroadcastDuration = "BroadcastDuration"
)

// namespace returns the CloudWatch namespace of the router's metrics, "" for
// none.
func (r *Router) namespace() string {
	if r.MetricsNamespace != "" {
		return r.MetricsNamespace
	}
	return emf.Namespace()
}

// newMetrics returns the Set of an invocation of route, nil without a
// namespace.
func (r *Router) newMetrics(route string) *emf.Set {
	if r.namespace() == "" {
		return nil
	}
	return emf.NewSet("Service", emf.Service(), "Route", route)
}

// flushMetrics records an invocation's outcome in m and writes m.
func (r *Router) flushMetrics(ctx context.Context, m *emf.Set, route string, status int, rejected bool, took time.Duration) {
	switch route {
	case registry.Connect:
		m.Count(metricConnects, 1)
	case registry.Disconnect:
		m.Count(metricDisconnects, 1)
	default:
		m.Count(metricMessages, 1)
	}
	failed := status >= 400 && !rejected
	m.Count(metricRejected, b2i(rejected))
	m.Count(metricErrors, b2i(failed))
	m.Duration(metricDuration, took)
	r.writeMetrics(ctx, m)
}

func (r *Router) writeMetrics(ctx context.Context, m *emf.Set) {
	var w io.Writer = os.Stdout
	if r.metricsOut != nil {
		w = r.metricsOut
	}
	writeMetrics(ctx, r.logger(), w, r.namespace(), m)
}

func writeMetrics(ctx context.Context, log *slog.Logger, w io.Writer, namespace string, m *emf.Set) {
	if err := m.Write(w, namespace, time.Now()); err != nil {
		log.WarnContext(ctx, "ws: writing metrics failed", logs.Error, err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sendMetrics returns the Set that a send from ctx records in and a function
// that writes it when ctx is not a handler's (nil when there is nothing to
// write), or nil without a namespace.
func sendMetrics(ctx context.Context) (*emf.Set, func()) {
	if req, ok := RequestFromContext(ctx); ok {
		return req.metrics, func() {}
	}
	ns := emf.Namespace()
	if ns == "" {
		return nil, nil
	}
	m := emf.NewSet("Service", emf.Service())
	return m, func() { writeMetrics(ctx, logs.Default(), os.Stdout, ns, m) }
}

// recordSend counts the outcome of a SendMessage.
func recordSend(ctx context.Context, err error, took time.Duration) {
	m, flush := sendMetrics(ctx)
	if m == nil {
		return
	}
	var res sender.Result
	switch {
	case err == nil:
		res.Sent = 1
	case errors.Is(err, sender.ErrGone):
		res.Gone = 1
	default:
		res.Failed = 1
		res.Throttled = b2i(errors.Is(err, sender.ErrThrottled))
	}
	countSends(m, res)
	m.Duration(metricSendDuration, took)
	flush()
}

// recordBroadcast counts the outcome of a Broadcast.
func recordBroadcast(ctx context.Context, res sender.Result, took time.Duration) {
	m, flush := sendMetrics(ctx)
	if m == nil {
		return
	}
	countSends(m, res)
	m.Duration(metricBroadcastDuration, took)
	flush()
}

func countSends(m *emf.Set, res sender.Result) {
	m.Count(metricSent, res.Sent)
	m.Count(metricGone, res.Gone)
	m.Count(metricThrottled, res.Throttled)
	m.Count(metricFailed, res.Failed)
	m.Count(metricNotAttempted, res.NotAttempted)
}

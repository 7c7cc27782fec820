package ws

import "io"

// SetMetricsOutput makes r write its EMF documents to w instead of stdout.
func SetMetricsOutput(r *Router, w io.Writer) { r.metricsOut = w }

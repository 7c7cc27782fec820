// Package emf writes CloudWatch Embedded Metric Format (EMF) documents: JSON
// lines on stdout that CloudWatch Logs turns into metrics, with no API call
// from the function. ws records each invocation's metrics in a [Set] and
// writes it once when the invocation ends.
//
// Documents follow the specification's limits: at most [MaxMetrics] metrics
// per directive (more are split over several directives), at most
// [MaxValues] values per metric (more are split over several documents),
// dimension values cut to [MaxDimensionValue] bytes, and no more than
// [MaxDimensions] dimensions in the set.
//
// No Go EMF library is both maintained and usable here: AWS ships none for
// Go; prozz/aws-embedded-metrics-golang has had no release since 2021; its
// fork dangrier/aws-embedded-metrics-golang needs Go 1.27; udhos/aws-emf is
// pre-1.0. One document shape is a few lines of encoding/json.
package emf

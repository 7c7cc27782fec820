package ws

import (
	"context"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// SetMetricsOutput makes r write its EMF documents to w instead of stdout.
func SetMetricsOutput(r *Router, w io.Writer) { r.metricsOut = w }

// SetLambda makes r invoke its AfterConnect function through c.
func SetLambda(r *Router, c interface {
	Invoke(ctx context.Context, params *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}) {
	r.lambda.fixed = c
}

package logs

import (
	"log/slog"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// jsonLogger is set once, as lambdacontext reads the environment once.
var jsonLogger = sync.OnceValue(func() *slog.Logger {
	if os.Getenv("AWS_LAMBDA_LOG_FORMAT") != "JSON" {
		return nil
	}
	return lambdacontext.NewLogger()
})

// Default returns the logger of a lambdaws package that was given none. When
// AWS_LAMBDA_LOG_FORMAT is JSON (Lambda's LoggingConfig LogFormat: JSON) it
// is aws-lambda-go's lambdacontext.NewLogger: one JSON object per line on
// stdout with "timestamp", "level", "message" and the invocation's
// "requestId", at the level of AWS_LAMBDA_LOG_LEVEL. Otherwise it is
// slog.Default(), looked up on every call so that slog.SetDefault applies.
func Default() *slog.Logger {
	if l := jsonLogger(); l != nil {
		return l
	}
	return slog.Default()
}

package lambdaenv

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/lambdaws/lambdaws/internal/inspect"
)

// Options configures a Function. A nil *Options and zero fields mean the
// documented defaults. Values Lambda would refuse are errors (NewBinary) or
// panics (New), so that a template that runs here deploys.
type Options struct {
	// Name is the function's name: AWS_LAMBDA_FUNCTION_NAME, part of its ARN,
	// and the prefix of its output lines. As on Lambda, at most 64 letters,
	// digits, hyphens and underscores. Default "function".
	Name string

	// Timeout ends an invocation that runs longer, as the function's
	// Timeout setting; at most 15 minutes, as on Lambda. Time spent waiting
	// for a free environment and a process's init do not count. Default
	// 29 s, API Gateway's integration timeout.
	Timeout time.Duration

	// Concurrency is the most environments the Function runs at once, as a
	// reserved concurrency; an invocation that finds all of them busy waits.
	// Default 10.
	Concurrency int

	// MemorySize is AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB: 128 to 10240,
	// as on Lambda. It is not enforced. Default 128.
	MemorySize int

	// Runtime (NewBinary and NewRuntime) is the function's Lambda runtime,
	// as a template's Runtime. For NewBinary: "go1.x" runs the binary as
	// AWS's go1.x runtime did, over aws-lambda-go's RPC protocol
	// (_LAMBDA_SERVER_PORT); "provided.al2023" (the default),
	// "provided.al2" and "provided" run it through the Lambda Runtime API.
	// For NewRuntime: a managed runtime, "nodejs18.x" and later
	// "nodejsNN.x", or "python3.x". It also names AWS_EXECUTION_ENV.
	Runtime string

	// Interpreter (NewRuntime only) is the node or python executable that
	// runs each environment, a path or a name looked up on PATH. Default
	// "node" for nodejs runtimes, "python3" for python ones.
	Interpreter string

	// Handler (NewBinary and NewRuntime) is the function's Handler setting,
	// which Lambda passes as _HANDLER: for NewRuntime the handler to call
	// (required), for NewBinary whatever its runtime reads. Default for
	// NewBinary: the binary's file name.
	Handler string

	// Env (NewBinary and NewRuntime) holds the function's environment variables, set
	// after the ones Lambda sets. As on Lambda, names match
	// [a-zA-Z][a-zA-Z0-9_]+, names Lambda reserves (AWS_REGION, _HANDLER,
	// AWS_LAMBDA_RUNTIME_API, the credentials, ...) are refused, and names
	// and values total at most 4 KB.
	Env map[string]string

	// ExtraEnv (NewBinary and NewRuntime) holds variables that the host running the
	// function adds beside Lambda's, such as the trust of a local CA or the
	// endpoints of local services: set after Lambda's and before Env (which
	// overrides them), neither checked against Lambda's rules nor counted
	// in the 4 KB, which apply to what the function's configuration sets.
	ExtraEnv map[string]string

	// Output (NewBinary and NewRuntime) receives the processes' stdout and stderr, each
	// line prefixed with "Name: ". Default os.Stderr.
	Output io.Writer

	// Logger receives the life of environments: timeouts, exits, init
	// failures. Default slog.Default().
	Logger *slog.Logger

	// Inspector, if set, receives the life of the environments (starting,
	// busy, idle, stopped and why) and the processes' output lines, tagged
	// with the invocation they belong to, for the inspector page of
	// `lambdaws local`, which sets it. Default nil.
	Inspector *inspect.Recorder
}

// Lambda's limits on a function's settings.
const (
	maxTimeout    = 15 * time.Minute
	minMemorySize = 128
	maxMemorySize = 10240
	maxEnvSize    = 4 << 10 // bytes of names and values together
)

// The names Lambda accepts for a function and an environment variable.
var (
	validName    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	validEnvName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]+$`)
)

// reserved are the variable names Lambda sets and refuses in a function's
// configuration ("Defined runtime environment variables" in the Lambda
// developer guide), and _LAMBDA_SERVER_PORT, which would make aws-lambda-go
// wait for the go1.x runtime's RPC calls.
var reserved = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
	"_LAMBDA_SERVER_PORT": true,
}

// options validates opts and returns a copy with the defaults set.
func options(opts *Options) (Options, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = "function"
	}
	if !validName.MatchString(o.Name) {
		return o, fmt.Errorf("lambdaenv: function name %q: want at most 64 letters, digits, hyphens and underscores", o.Name)
	}
	switch {
	case o.Timeout < 0:
		return o, fmt.Errorf("lambdaenv: function %s: negative Timeout %v", o.Name, o.Timeout)
	case o.Timeout > maxTimeout:
		return o, fmt.Errorf("lambdaenv: function %s: Timeout %v is over Lambda's %v", o.Name, o.Timeout, maxTimeout)
	case o.Timeout == 0:
		o.Timeout = defaultTimeout
	}
	switch {
	case o.Concurrency < 0:
		return o, fmt.Errorf("lambdaenv: function %s: negative Concurrency %d", o.Name, o.Concurrency)
	case o.Concurrency == 0:
		o.Concurrency = defaultConcurrency
	}
	switch {
	case o.MemorySize == 0:
		o.MemorySize = defaultMemorySize
	case o.MemorySize < minMemorySize || o.MemorySize > maxMemorySize:
		return o, fmt.Errorf("lambdaenv: function %s: MemorySize %d MB: Lambda allows %d to %d", o.Name, o.MemorySize, minMemorySize, maxMemorySize)
	}
	switch o.Runtime {
	case "":
		o.Runtime = "provided.al2023"
	case "provided.al2023", "provided.al2", "provided", "go1.x":
	default:
		if language(o.Runtime) != "" {
			break // NewRuntime's; NewBinary refuses them
		}
		return o, fmt.Errorf("lambdaenv: function %s: Runtime %q: want go1.x, provided.al2023, provided.al2, provided, nodejsNN.x or python3.N", o.Name, o.Runtime)
	}
	size := 0
	for k, v := range o.Env {
		switch {
		case reserved[k]:
			return o, fmt.Errorf("lambdaenv: function %s: environment variable %s is reserved by Lambda", o.Name, k)
		case !validEnvName.MatchString(k):
			return o, fmt.Errorf("lambdaenv: function %s: environment variable name %q: Lambda wants a letter, then letters, digits and underscores", o.Name, k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return o, fmt.Errorf("lambdaenv: function %s: environment variable %s holds a NUL byte", o.Name, k)
		}
		size += len(k) + len(v)
	}
	if size > maxEnvSize {
		return o, fmt.Errorf("lambdaenv: function %s: environment variables of %d bytes, over Lambda's 4 KB", o.Name, size)
	}
	if o.Output == nil {
		o.Output = os.Stderr
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

package sam

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	pathpkg "path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Function is an AWS::Serverless::Function or AWS::Lambda::Function with
// Globals applied.
type Function struct {
	LogicalID   string
	CodeURI     string // absolute folder
	Handler     string
	Runtime     string
	BuildMethod string // Metadata.BuildMethod, such as "go1.x"
	// ConstructPath is Metadata aws:cdk:path, the CDK construct that a
	// synthesized template's hashed logical id belongs to, or "".
	ConstructPath string
	MemorySize    int
	Timeout       time.Duration
	// Environment is Environment.Variables, resolved and overridden by
	// Options.EnvVars, with the variables Lambda sets for Logging
	// (LoggingEnv).
	Environment map[string]string
	// Logging is LoggingConfig, Lambda's advanced logging controls.
	Logging LoggingConfig
	// ReservedConcurrency is ReservedConcurrentExecutions: the most
	// environments the function runs at once; nil when not set. 0 throttles
	// every invocation, as on Lambda.
	ReservedConcurrency *int
	// ProvisionedConcurrency is
	// ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions (SAM
	// requires AutoPublishAlias with it): environments Lambda keeps
	// initialized. 0 when not set.
	ProvisionedConcurrency int
}

// LoggingConfig is the LoggingConfig of a function: "" where not set.
type LoggingConfig struct {
	LogFormat           string // JSON or Text
	ApplicationLogLevel string // TRACE, DEBUG, INFO, WARN, ERROR or FATAL
	SystemLogLevel      string // DEBUG, INFO or WARN
}

// logging reads property LoggingConfig into fn.Logging and sets the
// environment variables Lambda sets for it. Log levels apply to the JSON
// format only: with Text, Lambda does not filter, so they are not passed.
// A LoggingConfig that is not an object is refused, as CloudFormation
// refuses it.
func (l *loader) logging(fn *Function, props map[string]any) error {
	v, ok := props["LoggingConfig"]
	if !ok {
		return nil
	}
	if m, ok := v.(map[string]any); ok && isIntrinsic(m) {
		x, err := l.r.resolve(v)
		if err != nil {
			return fmt.Errorf("function %s, property LoggingConfig: %w; give it a literal value or a parameter (--parameter-overrides)", fn.LogicalID, err)
		}
		if x == noValue {
			return nil
		}
		v = x
	}
	lc, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("function %s, property LoggingConfig: %s where an object is needed (such as {LogFormat: JSON}), as CloudFormation requires", fn.LogicalID, describeValue(v))
	}
	for _, p := range []struct {
		name  string
		field *string
		valid []string
	}{
		{"LogFormat", &fn.Logging.LogFormat, []string{"JSON", "Text"}},
		{"ApplicationLogLevel", &fn.Logging.ApplicationLogLevel, []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}},
		{"SystemLogLevel", &fn.Logging.SystemLogLevel, []string{"DEBUG", "INFO", "WARN"}},
	} {
		v, err := l.prop(fn.LogicalID, lc, p.name)
		if err != nil {
			return err
		}
		if v != "" && !slices.Contains(p.valid, v) {
			return fmt.Errorf("function %s, property LoggingConfig.%s: %q is not one of %s, as Lambda requires", fn.LogicalID, p.name, v, strings.Join(p.valid, ", "))
		}
		*p.field = v
	}
	lg := fn.Logging
	if lg.LogFormat != "JSON" && (lg.ApplicationLogLevel != "" || lg.SystemLogLevel != "") {
		l.warn("function %s, property LoggingConfig: log levels apply only with LogFormat JSON; they are ignored", fn.LogicalID)
	}
	maps.Copy(fn.Environment, fn.LoggingEnv())
	return nil
}

// describeValue is describe, with a string quoted.
func describeValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return describe(v)
}

// LoggingEnv returns the variables Lambda sets for fn's LoggingConfig:
// AWS_LAMBDA_LOG_FORMAT and, for JSON, AWS_LAMBDA_LOG_LEVEL (the
// application log level, INFO by default). Environment holds them too;
// Lambda does not count them against the 4 KB of a function's variables.
func (fn *Function) LoggingEnv() map[string]string {
	lg := fn.Logging
	env := map[string]string{}
	if lg.LogFormat != "" {
		env["AWS_LAMBDA_LOG_FORMAT"] = lg.LogFormat
	}
	if lg.LogFormat == "JSON" {
		env["AWS_LAMBDA_LOG_LEVEL"] = orDefault(lg.ApplicationLogLevel, "INFO")
	}
	return env
}

func (l *loader) readFunction(id string) error {
	if _, ok := l.t.Functions[id]; ok {
		return nil
	}
	res := l.r.resources[id]
	props := res.Properties
	fn := &Function{LogicalID: id, MemorySize: 128, Timeout: 3 * time.Second}
	codeProp := "CodeUri"
	var err error
	if res.Type == "AWS::Serverless::Function" {
		if props, err = l.withGlobals("Function", id); err != nil {
			return err
		}
	} else {
		codeProp = "Code"
	}
	if pt, _ := props["PackageType"].(string); pt == "Image" {
		return fmt.Errorf("function %s: PackageType Image is not supported; lambdaws local runs zip functions (CodeUri)", id)
	}
	str := func(name string) string {
		var s string
		if err == nil {
			s, err = l.prop(id, props, name)
		}
		return s
	}
	fn.Handler, fn.Runtime = str("Handler"), str("Runtime")
	mem, timeout := str("MemorySize"), str("Timeout")
	if err != nil {
		return err
	}
	if mem != "" {
		n, err := strconv.Atoi(mem)
		if err != nil || n < 128 || n > 10240 {
			return fmt.Errorf("function %s, property MemorySize: %q is not a whole number of MB from 128 to 10240, as Lambda requires", id, mem)
		}
		fn.MemorySize = n
	}
	if timeout != "" {
		sec, err := strconv.Atoi(timeout)
		if err != nil || sec < 1 || sec > 900 {
			return fmt.Errorf("function %s, property Timeout: %q is not a whole number of seconds from 1 to 900, as Lambda requires", id, timeout)
		}
		fn.Timeout = time.Duration(sec) * time.Second
	}
	fn.BuildMethod, _ = res.Metadata["BuildMethod"].(string)
	fn.ConstructPath, _ = res.Metadata["aws:cdk:path"].(string)

	code := "." // SAM CLI's default CodeUri
	switch c := props[codeProp].(type) {
	case nil:
	case string:
		code = c
	default:
		// CDK's synthesized templates name the local asset in Metadata
		// (cdk synth) and in the asset manifest; Serverless Framework's
		// name the package in serverless-state.json.
		if asset, ok := res.Metadata["aws:asset:path"].(string); ok {
			code = asset
		} else if asset := l.cdkAsset(mapOf(c)); asset != "" {
			code = asset
		} else if pkg := l.serverlessArtifact(l.functionName(id), mapOf(c)); pkg != "" {
			code = pkg
		} else {
			return fmt.Errorf("function %s, property %s: code in S3 or inline cannot run locally; point %s at the function's folder or .zip package", id, codeProp, codeProp)
		}
	}
	if strings.HasPrefix(code, "s3://") {
		return fmt.Errorf("function %s, property %s: %q cannot run locally; point %s at the function's folder or .zip package", id, codeProp, code, codeProp)
	}
	if !filepath.IsAbs(code) {
		code = filepath.Join(l.dir, code)
	}
	fn.CodeURI = code

	if err := l.environment(fn, props); err != nil {
		return err
	}
	if err := l.logging(fn, props); err != nil {
		return err
	}
	if err := l.concurrency(fn, res.Type, props); err != nil {
		return err
	}
	l.t.Functions[id] = fn
	return nil
}

// cdkAsset returns the local copy of the CDK file asset that a function's
// Code {S3Bucket, S3Key} names: the source path of the asset whose object
// key is S3Key, in a *.assets.json manifest beside the template, or "".
func (l *loader) cdkAsset(code map[string]any) string {
	key, err := l.r.resolve(code["S3Key"])
	s, ok := key.(string)
	if err != nil || !ok {
		return ""
	}
	manifests, _ := filepath.Glob(filepath.Join(l.dir, "*.assets.json"))
	for _, m := range manifests {
		var manifest struct {
			Files map[string]struct {
				Source struct {
					Path string
				}
				Destinations map[string]struct {
					ObjectKey string
				}
			}
		}
		b, err := os.ReadFile(m)
		if err != nil || json.Unmarshal(b, &manifest) != nil {
			continue
		}
		for _, f := range manifest.Files {
			for _, d := range f.Destinations {
				if d.ObjectKey == s && filepath.IsLocal(f.Source.Path) {
					return filepath.Join(l.dir, f.Source.Path)
				}
			}
		}
	}
	return ""
}

// functionName is the FunctionName of function id, or "".
func (l *loader) functionName(id string) string {
	v, err := l.r.ref(id)
	s, _ := v.(string)
	if err != nil {
		return ""
	}
	return s
}

// serverlessArtifact returns the package that `serverless package` wrote
// or was given for the function fnName whose Code is {S3Bucket, S3Key}: the
// function's (or the service's) package.artifact in serverless-state.json
// beside the template, relative to the service's folder (the template's
// parent), else the file named as S3Key's last part beside the template.
// It returns "" when there is none.
func (l *loader) serverlessArtifact(fnName string, code map[string]any) string {
	var state struct {
		Service struct {
			Functions map[string]struct {
				Name    string
				Package struct{ Artifact string }
			}
			Package struct{ Artifact string }
		}
	}
	var candidates []string
	if b, err := os.ReadFile(filepath.Join(l.dir, "serverless-state.json")); err == nil && json.Unmarshal(b, &state) == nil {
		for _, f := range state.Service.Functions {
			if f.Name == fnName && f.Package.Artifact != "" {
				candidates = append(candidates, f.Package.Artifact)
			}
		}
		if a := state.Service.Package.Artifact; a != "" {
			candidates = append(candidates, a)
		}
	}
	if key, err := l.r.resolve(code["S3Key"]); err == nil {
		if s, ok := key.(string); ok {
			candidates = append(candidates, filepath.Join(l.dir, pathpkg.Base(s)))
		}
	}
	for _, c := range candidates {
		if !filepath.IsAbs(c) {
			c = filepath.Join(filepath.Dir(l.dir), c)
		}
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() && strings.HasSuffix(c, ".zip") {
			return c
		}
	}
	return ""
}

// concurrency reads ReservedConcurrentExecutions and, on a SAM function,
// ProvisionedConcurrencyConfig (which SAM accepts only with
// AutoPublishAlias, and Lambda only up to the reserved concurrency).
func (l *loader) concurrency(fn *Function, typ string, props map[string]any) error {
	id := fn.LogicalID
	reserved, err := l.prop(id, props, "ReservedConcurrentExecutions")
	if err != nil {
		return err
	}
	if reserved != "" {
		n, err := strconv.Atoi(reserved)
		if err != nil || n < 0 {
			return fmt.Errorf("function %s, property ReservedConcurrentExecutions: %q is not a whole number from 0, as Lambda requires", id, reserved)
		}
		fn.ReservedConcurrency = &n
	}
	if typ != "AWS::Serverless::Function" {
		return nil
	}
	pc := mapOf(props["ProvisionedConcurrencyConfig"])
	if pc == nil {
		return nil
	}
	if alias, err := l.prop(id, props, "AutoPublishAlias"); err != nil || alias == "" {
		return fmt.Errorf("function %s, property ProvisionedConcurrencyConfig: SAM requires AutoPublishAlias with it", id)
	}
	v, err := l.prop(id, pc, "ProvisionedConcurrentExecutions")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("function %s, property ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions: %q is not a whole number from 1, as Lambda requires", id, v)
	}
	if r := fn.ReservedConcurrency; r != nil && n > *r {
		return fmt.Errorf("function %s: ProvisionedConcurrentExecutions %d is over ReservedConcurrentExecutions %d, which Lambda refuses", id, n, *r)
	}
	fn.ProvisionedConcurrency = n
	return nil
}

// environment sets fn.Environment as SAM CLI does: an intrinsic it cannot
// resolve gives "" (with a warning), and --env-vars overrides the variables
// the template declares.
func (l *loader) environment(fn *Function, props map[string]any) error {
	vars := mapOf(mapOf(props["Environment"])["Variables"])
	fn.Environment = map[string]string{}
	overrides := func(name string) (string, bool) {
		if v, ok := l.opts.EnvVars[fn.LogicalID][name]; ok {
			return v, true
		}
		v, ok := l.opts.EnvVars["Parameters"][name]
		return v, ok
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if v, ok := overrides(name); ok {
			fn.Environment[name] = v
			continue
		}
		v, err := l.r.resolve(vars[name])
		if err == nil && v != noValue {
			var s string
			if s, err = scalarString(v); err == nil {
				fn.Environment[name] = s
				continue
			}
		}
		if v == noValue {
			continue
		}
		fn.Environment[name] = ""
		l.warn("function %s, environment variable %s: %v; it is empty: set it with --env-vars", fn.LogicalID, name, err)
	}
	for _, name := range slices.Sorted(maps.Keys(fn.Environment)) {
		if err := checkEnv(name, fn.Environment[name]); err != nil {
			return fmt.Errorf("function %s, property Environment.Variables: %w", fn.LogicalID, err)
		}
	}
	return nil
}

// reservedEnv are the environment variables Lambda sets and refuses in a
// function's configuration (Lambda's documented reserved list, and
// _LAMBDA_SERVER_PORT of the go1.x runtime).
var reservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ", "_LAMBDA_SERVER_PORT",
}

// checkEnv applies Lambda's rules to an environment variable: the name
// matches [a-zA-Z][a-zA-Z0-9_]+ and is not reserved; no value holds NUL
// (a process cannot receive it).
func checkEnv(name, value string) error {
	if slices.Contains(reservedEnv, name) {
		return fmt.Errorf("%s is reserved: Lambda sets it and refuses it in a function's configuration", name)
	}
	ok := len(name) >= 2
	for i, c := range []byte(name) {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		ok = ok && (letter || i > 0 && (c == '_' || c >= '0' && c <= '9'))
	}
	if !ok {
		return fmt.Errorf("name %q: Lambda requires a letter, then letters, digits or _ (at least 2 characters in all)", name)
	}
	if strings.IndexByte(value, 0) >= 0 {
		return fmt.Errorf("%s: the value holds a NUL byte, which no process can receive", name)
	}
	return nil
}

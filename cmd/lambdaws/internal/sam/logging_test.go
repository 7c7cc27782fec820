package sam_test

import (
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// TestLoggingConfigNotObject: a LoggingConfig that is not an object (a
// string such as JSON, a list, an empty value), on the function, in Globals
// or from an intrinsic function, is refused as CloudFormation refuses it,
// naming the function and the property; one that resolves to an object or
// to AWS::NoValue is read.
func TestLoggingConfigNotObject(t *testing.T) {
	const conditions = "Conditions: {Yes: !Equals [a, a]}\n"
	for _, tc := range []struct {
		name, template, err string
	}{
		{"string", withFn("LoggingConfig: JSON"), `function Fn, property LoggingConfig: "JSON" where an object is needed`},
		{"list", withFn("LoggingConfig: [JSON]"), "function Fn, property LoggingConfig: a list where an object is needed"},
		{"empty", withFn("LoggingConfig: null"), "function Fn, property LoggingConfig: an empty value where an object is needed"},
		{"in Globals", minimal + "Globals: {Function: {LoggingConfig: JSON}}\n", `function Fn, property LoggingConfig: "JSON" where an object is needed`},
		{"from Fn::If", withFn("LoggingConfig: !If [Yes, JSON, Text]") + conditions, `function Fn, property LoggingConfig: "JSON" where an object is needed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sam.Parse([]byte(tc.template), "/app", nil)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want one saying %s", err, tc.err)
			}
		})
	}
	for _, tc := range []struct {
		name, template string
		want           sam.LoggingConfig
	}{
		{"object from Fn::If", withFn("LoggingConfig: !If [Yes, {LogFormat: JSON}, !Ref AWS::NoValue]") + conditions, sam.LoggingConfig{LogFormat: "JSON"}},
		{"AWS::NoValue", withFn("LoggingConfig: !Ref AWS::NoValue"), sam.LoggingConfig{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := sam.Parse([]byte(tc.template), "/app", nil)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "Logging", tpl.Functions["Fn"].Logging, tc.want)
		})
	}
}

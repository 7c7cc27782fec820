package sam_test

import (
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// TestConcurrency reads ReservedConcurrentExecutions (0 included: a
// throttled function) and ProvisionedConcurrencyConfig, and refuses what
// SAM or Lambda refuse.
func TestConcurrency(t *testing.T) {
	const head = `
Parameters:
  N: {Type: Number, Default: 2}
Resources:
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties: {RouteSelectionExpression: $request.body.action, Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Runtime: provided.al2023
`
	for _, tc := range []struct {
		name, props string
		reserved    int // -1: not set
		provisioned int
		err         string
	}{
		{"none", "", -1, 0, ""},
		{"reserved", "      ReservedConcurrentExecutions: 1\n", 1, 0, ""},
		{"throttled", "      ReservedConcurrentExecutions: 0\n", 0, 0, ""},
		{"parameter", "      ReservedConcurrentExecutions: !Ref N\n", 2, 0, ""},
		{"provisioned", "      AutoPublishAlias: live\n      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 2}\n", -1, 2, ""},
		{"negative", "      ReservedConcurrentExecutions: -1\n", 0, 0, `property ReservedConcurrentExecutions: "-1" is not a whole number`},
		{"no alias", "      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 2}\n", 0, 0, "SAM requires AutoPublishAlias"},
		{"over reserved", "      ReservedConcurrentExecutions: 1\n      AutoPublishAlias: live\n      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 2}\n", 0, 0,
			"ProvisionedConcurrentExecutions 2 is over ReservedConcurrentExecutions 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := sam.Parse([]byte(head+tc.props), "/app", nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fn := tpl.Functions["Fn"]
			reserved := -1
			if fn.ReservedConcurrency != nil {
				reserved = *fn.ReservedConcurrency
			}
			if reserved != tc.reserved || fn.ProvisionedConcurrency != tc.provisioned {
				t.Errorf("reserved %d, provisioned %d; want %d, %d", reserved, fn.ProvisionedConcurrency, tc.reserved, tc.provisioned)
			}
		})
	}
}

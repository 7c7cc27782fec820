package main

import (
	"debug/buildinfo"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// sdkV1 is the module of aws-sdk-go v1, which ignores AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_{SERVICE}.
const sdkV1 = "github.com/aws/aws-sdk-go"

// awsReach returns, for a person, the ways the functions of tpl would reach
// the account's real AWS services although a local one may be meant: a
// function whose binary links aws-sdk-go v1 while an AWS_ENDPOINT_URL* is
// set (in environ, the "KEY=value" list of this shell's variables and
// those lambdaws adds, or the function's variables). binary gives a
// function's binary; one that is not a Go binary is skipped. (Tables
// without a local DynamoDB are startDynamoDB's.)
func awsReach(tpl *sam.Template, binary func(*sam.Function) string, environ []string) []string {
	var shellEndpoints []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_ENDPOINT_URL") && v != "" {
			shellEndpoints = append(shellEndpoints, k)
		}
	}
	var out []string
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		fn := tpl.Functions[id]
		endpoints := slices.Clone(shellEndpoints)
		for k, v := range fn.Environment {
			if strings.HasPrefix(k, "AWS_ENDPOINT_URL") && v != "" && !slices.Contains(endpoints, k) {
				endpoints = append(endpoints, k)
			}
		}
		if len(endpoints) == 0 {
			continue
		}
		info, err := buildinfo.ReadFile(binary(fn))
		if err != nil {
			continue
		}
		for _, dep := range info.Deps {
			if dep.Path == sdkV1 {
				slices.Sort(endpoints)
				out = append(out, fmt.Sprintf("function %s is built with aws-sdk-go v1 (%s %s), which ignores %s: its AWS calls reach the account's real services unless its code sets each client's Endpoint",
					id, dep.Path, dep.Version, strings.Join(endpoints, ", ")))
				break
			}
		}
	}
	return out
}

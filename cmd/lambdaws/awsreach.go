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
// set (in environ, this shell's "KEY=value" list, or the function's
// variables), and DynamoDB tables without AWS_ENDPOINT_URL_DYNAMODB.
// binary gives a function's binary; one that is not a Go binary is skipped.
func awsReach(tpl *sam.Template, binary func(*sam.Function) string, environ []string) []string {
	var shellEndpoints []string
	shell := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		shell[k] = v
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
	if len(tpl.Tables) > 0 && shell["AWS_ENDPOINT_URL_DYNAMODB"] == "" && shell["AWS_ENDPOINT_URL"] == "" {
		names := make([]string, len(tpl.Tables))
		for i, t := range tpl.Tables {
			names[i] = t.Name
		}
		out = append(out, fmt.Sprintf("the template has DynamoDB tables (%s) and AWS_ENDPOINT_URL_DYNAMODB is unset: the functions use the account's DynamoDB, with this shell's credentials. "+
			"For a local one, start DynamoDB Local or dynalite and run AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 lambdaws local --create-tables",
			strings.Join(names, ", ")))
	}
	return out
}

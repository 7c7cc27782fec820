// Package sam reads what lambdaws local serves from an AWS SAM or
// CloudFormation template: one WebSocket API (AWS::ApiGatewayV2::* resources
// or an AWS::Serverless::WebSocketApi), the functions its routes and
// authorizer invoke (AWS::Serverless::Function, AWS::Lambda::Function, with
// Globals), and the DynamoDB tables.
//
// Roadmap:
//   - intrinsic.go: YAML short tags (!Ref, !Sub, ...) into long form, and the
//     intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select,
//     Fn::Split, Fn::If and the condition functions, Fn::FindInMap,
//     Fn::Base64) against parameters, resources and pseudo parameters.
//   - template.go: Load and Parse, Options, Template, Globals, and reading
//     properties.
//   - api.go: the WebSocket API (API, Route, Authorizer) in its
//     AWS::ApiGatewayV2::* and AWS::Serverless::WebSocketApi forms.
//   - function.go: Function, with Lambda's rules for its properties.
//   - table.go: Table.
//   - names.go, properties.yaml: the names each resource type it reads and
//     each Globals section may have, extracted from SAM's and
//     CloudFormation's published schemas (sources in properties.yaml).
//
// It refuses what CloudFormation or Lambda would refuse at deployment:
// templates over 1 MB (CloudFormation's limit for a template in
// S3), a property (or resource attribute, or Globals section) that a type it
// reads does not have, with its line and the closest valid name, what SAM's
// transform refuses in an AWS::Serverless::WebSocketApi (route keys other
// than letters and digits, Auth without $connect), intrinsic functions in
// Mappings, environment variable names Lambda
// reserves or that do not match [a-zA-Z][a-zA-Z0-9_]+, values with NUL,
// Timeout outside 1-900 s, MemorySize outside 128-10240 MB, and LoggingConfig
// values outside Lambda's. LoggingConfig becomes the variables Lambda sets
// (AWS_LAMBDA_LOG_FORMAT, and AWS_LAMBDA_LOG_LEVEL with JSON); lambdaws local
// does not filter logs by level as Lambda does.
//
// A key defined twice in a mapping is read as SAM CLI (PyYAML) reads it: the
// last one, with a warning naming both lines.
//
// A value it cannot resolve where it matters (a route's target, an
// integration's URI) is an error naming the resource, the property and what
// to do. In environment variables it is "" with a warning, overridable with
// Options.EnvVars, as SAM CLI does.
package sam

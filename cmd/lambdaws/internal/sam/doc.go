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
//
// A value it cannot resolve where it matters (a route's target, an
// integration's URI) is an error naming the resource, the property and what
// to do. In environment variables it is "" with a warning, overridable with
// Options.EnvVars, as SAM CLI does.
package sam

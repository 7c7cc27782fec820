// Package logs is where lambdaws's packages (ws, sender, grip, local and the
// lambdaws command) get the names of the fields they log, so that one thing
// has one name everywhere, and the logger they use when given none.
//
// The names follow Lambda's JSON log format and API Gateway's event fields:
// camelCase, "requestId" for the Lambda request id and "gatewayRequestId" for
// API Gateway's. [Default] writes Lambda's JSON log format when Lambda's
// advanced logging controls ask for it (AWS_LAMBDA_LOG_FORMAT=JSON).
package logs

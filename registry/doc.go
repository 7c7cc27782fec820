// Package registry is the route table shared by the lambdaws packages.
//
// A [Table] maps API Gateway route keys ("$connect", "$disconnect", "$default"
// and custom keys such as "sendmessage") to handlers of any type, detects
// duplicate and empty keys, checks that the required routes are present, and
// picks the route for an event: the event's own route key when it is
// registered, otherwise the key named by the route selection expression in the
// message body, otherwise "$default".
//
// An [Expression] is a parsed route selection expression such as
// "$request.body.action". Package ws uses it to route inside a function and
// package local uses it to route as API Gateway does, so both agree on every
// body.
package registry

// Package registry is the route table and route selection that packages ws,
// local and grip share, so that a message picks the same route in a function
// as in the emulator; handler code does not need it.
//
// A [Table] maps route keys ("$connect", "$disconnect", "$default" and custom
// keys such as "sendmessage") to handlers and picks the route for an event
// ([Table.Route]); an [Expression] is a parsed route selection expression such
// as [DefaultExpression].
package registry

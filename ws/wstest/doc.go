// Package wstest is the test kit for handlers written with package ws, as
// net/http/httptest is for HTTP handlers.
package wstest

// Package storetest is the contract test suite of connstore.Store: every
// implementation passes it, as every slog.Handler passes testing/slogtest.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) connstore.Store { return mystore.New(...) })
//	}
package storetest

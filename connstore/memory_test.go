package connstore_test

import (
	"testing"

	"github.com/lambdaws/lambdaws/connstore"
	"github.com/lambdaws/lambdaws/connstore/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(*testing.T) connstore.Store { return connstore.NewMemory() })
}

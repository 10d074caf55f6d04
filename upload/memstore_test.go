package upload_test

import (
	"testing"

	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/uploadtest"
)

func TestMemStoreConformance(t *testing.T) {
	uploadtest.TestStore(t, func(*testing.T) upload.Store { return upload.NewMemStore() })
}

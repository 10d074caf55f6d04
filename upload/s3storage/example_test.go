package s3storage_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/s3storage"
)

// Uploads stored in an S3 bucket that several dashboard instances share;
// temporary files stay on each instance's own disk. (Needs a server, so it
// is compiled but not run.)
func Example() {
	ctx := context.Background()
	st, err := s3storage.New(ctx, s3storage.Options{
		Endpoint:  "127.0.0.1:7070",
		AccessKey: os.Getenv("S3_ACCESS_KEY"),
		SecretKey: os.Getenv("S3_SECRET_KEY"),
		Bucket:    "finkit-uploads",
		Prefix:    "uploads/",
	})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := upload.OpenFS("data/uploads")
	if err != nil {
		log.Fatal(err)
	}
	m, err := upload.New(ctx, upload.Options{
		Dir:     dir,
		Storage: st,
		Authorize: func(*http.Request) (upload.Principal, error) {
			return upload.Principal{}, upload.ErrForbidden // the app's admin check goes here
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Shutdown(ctx)
	http.Handle("/uploads/", m.Handler())
}

// Package s3storage is an upload.Storage on an S3-compatible object store
// (AWS S3, MinIO, versitygw, …) through github.com/minio/minio-go/v7. It is
// its own module, so the finkit library does not require minio.
//
//	st, err := s3storage.New(ctx, s3storage.Options{
//		Endpoint: "127.0.0.1:7070", AccessKey: "…", SecretKey: "…", Bucket: "uploads",
//	})
//	m, err := upload.New(ctx, upload.Options{Dir: dir, Storage: st, …})
//
// Put streams: an object of unknown length goes up as a multipart upload
// in parts of Options.PartSize, one part in memory at a time, never the
// whole file; an object smaller than one part is a single PUT. An object
// appears whole or not at all (S3 completes a multipart upload
// atomically). Copy is a server-side copy, so the pipeline moves a staged
// upload to its content-addressed key without downloading it.
// AbortIncomplete (upload.Aborter) aborts multipart uploads left
// incomplete under the prefix; the upload janitor calls it. The bucket and
// prefix belong to one deployment: every instance of it uses the same
// ones, and no other deployment may share them.
package s3storage

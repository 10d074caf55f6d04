package s3storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/finkit/finkit/upload"
)

// Options configure a Storage. Endpoint, AccessKey, SecretKey and Bucket
// are required.
type Options struct {
	Endpoint  string // host:port of the S3 server
	Secure    bool   // use https
	AccessKey string
	SecretKey string
	Region    string // default "us-east-1"
	Bucket    string
	// Prefix is put before every key inside the bucket ("" or ending in
	// "/", such as "uploads/").
	Prefix string
	// CreateBucket creates the bucket when it does not exist.
	CreateBucket bool
	// PartSize is the size of a multipart upload's parts, at least 5 MiB
	// (S3's minimum); default 16 MiB. It is also the memory one Put holds.
	PartSize uint64
	// Transport is the HTTP transport; nil means minio's default.
	Transport http.RoundTripper
	// UnsignedPayload sends objects without a SHA-256 of their bytes in
	// the request signature (UNSIGNED-PAYLOAD): the signing no longer
	// protects the bytes on the wire, and neither side hashes them. Over
	// https minio already does so (TLS protects them); over plain http, use
	// it only on a trusted network. It made a 256 MiB staging put into
	// versitygw on loopback about 1.6 times faster (see BenchmarkPut).
	UnsignedPayload bool
	// MaxRetries is how often a failed request is tried again, with
	// back-off; 0 means 3 (minio's default of 10 makes an unreachable
	// server answer after about 10 s; with 3 it is about 1 s).
	MaxRetries int
}

// Storage is an upload.Storage in one bucket.
type Storage struct {
	c        *minio.Client
	bucket   string
	prefix   string
	partSize uint64
	unsigned bool
}

var (
	_ upload.Storage = (*Storage)(nil)
	_ upload.Lister  = (*Storage)(nil)
	_ upload.Aborter = (*Storage)(nil)
)

const minPartSize = 5 << 20

// New connects to the server and checks (or creates) the bucket.
func New(ctx context.Context, opts Options) (*Storage, error) {
	if opts.Endpoint == "" || opts.Bucket == "" || opts.AccessKey == "" || opts.SecretKey == "" {
		return nil, errors.New("s3storage: Endpoint, Bucket, AccessKey and SecretKey are required")
	}
	if opts.Prefix != "" && (!upload.ValidKey(opts.Prefix+"x") || opts.Prefix[len(opts.Prefix)-1] != '/') {
		return nil, fmt.Errorf("s3storage: invalid prefix %q", opts.Prefix)
	}
	if opts.PartSize == 0 {
		opts.PartSize = 16 << 20
	}
	if opts.PartSize < minPartSize {
		return nil, fmt.Errorf("s3storage: PartSize %d is under S3's minimum of 5 MiB", opts.PartSize)
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 3
	}
	c, err := minio.New(opts.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure:     opts.Secure,
		Region:     opts.Region,
		Transport:  opts.Transport,
		MaxRetries: opts.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3storage: %w", err)
	}
	ok, err := c.BucketExists(ctx, opts.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3storage: bucket %s: %w", opts.Bucket, err)
	}
	if !ok {
		if !opts.CreateBucket {
			return nil, fmt.Errorf("s3storage: bucket %s does not exist", opts.Bucket)
		}
		if err := c.MakeBucket(ctx, opts.Bucket, minio.MakeBucketOptions{Region: opts.Region}); err != nil {
			return nil, fmt.Errorf("s3storage: create bucket %s: %w", opts.Bucket, err)
		}
	}
	return &Storage{c: c, bucket: opts.Bucket, prefix: opts.Prefix, partSize: opts.PartSize, unsigned: opts.UnsignedPayload}, nil
}

func (s *Storage) name(key string) (string, error) {
	if !upload.ValidKey(key) {
		return "", fmt.Errorf("%w: %q", upload.ErrBadKey, key)
	}
	return s.prefix + key, nil
}

// ObjectName is the name in the bucket of the object stored under key.
func (s *Storage) ObjectName(key string) string { return s.prefix + key }

func notFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusNotFound || r.Code == "NoSuchKey"
}

// List implements upload.Lister: the objects whose keys start with
// prefix (objects in the bucket whose names are no valid keys are left
// out).
func (s *Storage) List(ctx context.Context, prefix string) ([]upload.ObjectInfo, error) {
	ctx, cancel := context.WithCancel(ctx) // stops minio's lister when we return early
	defer cancel()
	var out []upload.ObjectInfo
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("s3storage: list %s: %w", prefix, o.Err)
		}
		key, ok := strings.CutPrefix(o.Key, s.prefix)
		if !ok || !upload.ValidKey(key) {
			continue
		}
		out = append(out, upload.ObjectInfo{Key: key, Size: o.Size, ModTime: o.LastModified})
	}
	return out, nil
}

// AbortIncomplete implements upload.Aborter: it aborts the multipart
// uploads in the bucket under Options.Prefix whose keys start with prefix
// ("" or ending in "/") and that were initiated before cutoff (an instance
// killed in the middle of a Put leaves one behind, and S3 keeps its parts,
// billed, until it is aborted). Uploads under other prefixes and names
// that are no valid keys are left alone. It returns how many it aborted,
// with the first error that stopped it.
func (s *Storage) AbortIncomplete(ctx context.Context, prefix string, cutoff time.Time) (int, error) {
	if prefix != "" && (!upload.ValidKey(prefix+"x") || !strings.HasSuffix(prefix, "/")) {
		return 0, fmt.Errorf("%w: prefix %q", upload.ErrBadKey, prefix)
	}
	core := minio.Core{Client: s.c}
	aborted := 0
	keyMarker, idMarker := "", ""
	for {
		res, err := core.ListMultipartUploads(ctx, s.bucket, s.prefix+prefix, keyMarker, idMarker, "", 1000)
		if err != nil {
			return aborted, fmt.Errorf("s3storage: list incomplete uploads: %w", err)
		}
		for _, u := range res.Uploads {
			key, ok := strings.CutPrefix(u.Key, s.prefix)
			if !ok || !strings.HasPrefix(key, prefix) || !upload.ValidKey(key) || !u.Initiated.Before(cutoff) {
				continue
			}
			if err := core.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID); err == nil {
				aborted++
			} else if !noSuchUpload(err) {
				return aborted, fmt.Errorf("s3storage: abort incomplete upload of %s: %w", key, err)
			}
		}
		if !res.IsTruncated || res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == idMarker {
			return aborted, nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// noSuchUpload reports an upload that is gone already (another instance
// aborted or completed it meanwhile).
func noSuchUpload(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchUpload" || r.StatusCode == http.StatusNotFound
}

// maxSinglePut is the largest object S3 takes in one PUT.
const maxSinglePut = 5 << 30

// Put implements upload.Storage: it streams r into the object. A file (a
// reader that tells its size, such as the temporary file of an accepted
// upload being staged) of up to 5 GiB goes in one streamed PUT: a
// multipart upload costs the server a second copy of the whole object
// when it is completed. Anything else goes as a multipart upload when it
// yields more than one part.
func (s *Storage) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	name, err := s.name(key)
	if err != nil {
		return 0, err
	}
	opts := minio.PutObjectOptions{
		PartSize:             s.partSize,
		ContentType:          "application/octet-stream",
		DisableContentSha256: s.unsigned,
	}
	body, size := io.Reader(onlyReader{r}), int64(-1)
	if sec, ok := fileSection(r); ok && sec.Size() <= maxSinglePut {
		body, size, opts.DisableMultipart = sec, sec.Size(), true
	}
	info, err := s.c.PutObject(ctx, s.bucket, name, body, size, opts)
	if err != nil {
		return 0, fmt.Errorf("s3storage: put %s: %w", key, err)
	}
	return info.Size, nil
}

// fileSection returns the rest of r when r is a regular file: from its
// offset to its end.
func fileSection(r io.Reader) (*io.SectionReader, bool) {
	f, ok := r.(interface {
		io.ReaderAt
		io.Seeker
		Stat() (fs.FileInfo, error)
	})
	if !ok {
		return nil, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, false
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil || off > fi.Size() {
		return nil, false
	}
	return io.NewSectionReader(f, off, fi.Size()-off), true
}

// onlyReader hides a file's other methods, so minio streams it part by
// part instead of reading sections of it in parallel buffers.
type onlyReader struct{ io.Reader }

// Open implements upload.Storage. The object is read with ranged GETs as
// it is read and sought.
func (s *Storage) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, err
	}
	obj, err := s.c.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("s3storage: open %s: %w", key, err)
	}
	if _, err := obj.Stat(); err != nil {
		_ = obj.Close()
		if notFound(err) {
			return nil, fmt.Errorf("%w: %s", upload.ErrNotFound, key)
		}
		return nil, fmt.Errorf("s3storage: open %s: %w", key, err)
	}
	return obj, nil
}

// Stat implements upload.Storage.
func (s *Storage) Stat(ctx context.Context, key string) (upload.ObjectInfo, error) {
	name, err := s.name(key)
	if err != nil {
		return upload.ObjectInfo{}, err
	}
	info, err := s.c.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		if notFound(err) {
			return upload.ObjectInfo{}, fmt.Errorf("%w: %s", upload.ErrNotFound, key)
		}
		return upload.ObjectInfo{}, fmt.Errorf("s3storage: stat %s: %w", key, err)
	}
	return upload.ObjectInfo{Key: key, Size: info.Size, ModTime: info.LastModified}, nil
}

// Delete implements upload.Storage; a missing object is no error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return fmt.Errorf("s3storage: delete %s: %w", key, err)
	}
	return nil
}

// Copy copies the object src to dst on the server (upload.Copier).
func (s *Storage) Copy(ctx context.Context, dst, src string) error {
	dn, err := s.name(dst)
	if err != nil {
		return err
	}
	sn, err := s.name(src)
	if err != nil {
		return err
	}
	_, err = s.c.CopyObject(ctx, minio.CopyDestOptions{Bucket: s.bucket, Object: dn}, minio.CopySrcOptions{Bucket: s.bucket, Object: sn})
	if err != nil {
		if notFound(err) {
			return fmt.Errorf("%w: %s", upload.ErrNotFound, src)
		}
		return fmt.Errorf("s3storage: copy %s to %s: %w", src, dst, err)
	}
	return nil
}

// Ping checks that the bucket can be reached, for readiness checks.
func (s *Storage) Ping(ctx context.Context) error {
	if _, err := s.c.BucketExists(ctx, s.bucket); err != nil {
		return fmt.Errorf("s3storage: %w", err)
	}
	return nil
}

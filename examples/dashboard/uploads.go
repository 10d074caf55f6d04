package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/papertrade"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/s3storage"
	uploadsql "github.com/finkit/finkit/upload/sqlstore"
)

// uploadsDir is the upload storage directory inside the data directory.
const uploadsDir = "uploads"

// maxImagePixels bounds the images the dashboard accepts (a decompression
// bomb is refused before it is decoded).
const maxImagePixels = 40_000_000

// dataSetPrefix marks an uploaded price history in the backtest form's
// symbol field.
const dataSetPrefix = "upload:"

// s3Config selects S3-compatible object storage for uploaded files, so
// several dashboard instances share them (and any instance finishes any
// upload's job). The keys come from the environment only, never a flag,
// so they do not show in the process list.
type s3Config struct {
	endpoint, bucket, prefix string
	secure, unsigned         bool
}

func (c *s3Config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.endpoint, "s3-endpoint", envOr("FINKIT_S3_ENDPOINT", ""), "host:port of an S3-compatible server for uploaded files (default: the data directory); keys from FINKIT_S3_ACCESS_KEY and FINKIT_S3_SECRET_KEY")
	fs.StringVar(&c.bucket, "s3-bucket", envOr("FINKIT_S3_BUCKET", "finkit-uploads"), "S3 bucket for uploaded files (created when missing)")
	fs.StringVar(&c.prefix, "s3-prefix", envOr("FINKIT_S3_PREFIX", ""), "key prefix inside the S3 bucket, such as uploads/")
	fs.BoolVar(&c.secure, "s3-secure", os.Getenv("FINKIT_S3_SECURE") == "true", "use https for the S3 server")
	fs.BoolVar(&c.unsigned, "s3-unsigned-payload", os.Getenv("FINKIT_S3_UNSIGNED_PAYLOAD") == "true", "over plain http, do not sign the SHA-256 of stored files (faster; only on a trusted network)")
}

// storage opens the S3 storage, or returns nil when none is configured.
func (c s3Config) storage(ctx context.Context) (*s3storage.Storage, error) {
	if c.endpoint == "" {
		return nil, nil
	}
	st, err := s3storage.New(ctx, s3storage.Options{
		Endpoint: c.endpoint, Secure: c.secure, Bucket: c.bucket, Prefix: c.prefix, CreateBucket: true, UnsignedPayload: c.unsigned,
		AccessKey: os.Getenv("FINKIT_S3_ACCESS_KEY"), SecretKey: os.Getenv("FINKIT_S3_SECRET_KEY"),
	})
	if err != nil {
		return nil, fmt.Errorf("upload storage: %w", err)
	}
	return st, nil
}

// openUploads starts the upload pipeline on the shared database (SQLite or,
// with postgres, PostgreSQL), storing files under the data directory or,
// with --s3-endpoint, in an S3 bucket.
func (a *app) openUploads(ctx context.Context, postgres bool) error {
	opts := uploadsql.Options{Dialect: uploadsql.SQLite}
	if postgres {
		opts.Dialect = uploadsql.Postgres
	}
	store, err := uploadsql.New(ctx, a.db, opts)
	if err != nil {
		return fmt.Errorf("upload store: %w", err)
	}
	dir, err := upload.OpenFS(filepath.Join(a.cfg.dataDir, uploadsDir))
	if err != nil {
		return err
	}
	a.uploadFS = dir
	opts3, err := a.cfg.s3.storage(ctx)
	if err != nil {
		return err
	}
	var storage upload.Storage
	if opts3 != nil {
		storage = opts3
		a.objects = opts3
		a.log.Info("uploads stored in S3", "endpoint", a.cfg.s3.endpoint, "bucket", a.cfg.s3.bucket)
	}
	a.uploads, err = upload.New(ctx, upload.Options{
		Dir:       dir,
		Storage:   storage,
		Store:     store,
		Logger:    a.log,
		Authorize: authorizeUpload,
		Processors: map[string][]upload.Processor{
			upload.TypeCSV().MediaType:  {upload.ProcessorFunc(a.processCSV)},
			upload.TypePNG().MediaType:  {upload.ImageProcessor(maxImagePixels)},
			upload.TypeJPEG().MediaType: {upload.ImageProcessor(maxImagePixels)},
		},
	})
	return err
}

// closeUploads drains the pipeline (running jobs get a few seconds, then
// go back to the queue for the next start).
func (a *app) closeUploads() error {
	var errs []error
	if a.uploads != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errs = append(errs, a.uploads.Shutdown(ctx))
	}
	if a.uploadFS != nil {
		errs = append(errs, a.uploadFS.Close())
	}
	return errors.Join(errs...)
}

// authorizeUpload lets administrators in: anonymous requests get 401,
// other users 403.
func authorizeUpload(r *http.Request) (upload.Principal, error) {
	u, ok := auth.UserFrom(r.Context())
	if !ok {
		return upload.Principal{}, upload.ErrUnauthenticated
	}
	if !u.IsAdmin() {
		return upload.Principal{}, upload.ErrForbidden
	}
	return upload.Principal{ID: u.ID, Name: u.Username}, nil
}

// uploadRoutes mounts the upload API at /uploads and the page at
// /admin/uploads, both for administrators only.
func (a *app) uploadRoutes(e *gin.Engine, adm *gin.RouterGroup) {
	api := gin.WrapH(a.uploads.Handler())
	up := e.Group("/uploads", adapt(auth.RequireRole(auth.RoleAdmin)))
	up.Any("", api)
	up.Any("/*rest", api)
	adm.GET("/uploads", a.uploadsPage)
}

type uploadsView struct {
	Uploads  []upload.Upload
	Accounts []string
	MaxFile  string
}

func (a *app) uploadsPage(c *gin.Context) {
	ctx := c.Request.Context()
	ups, err := a.uploads.List(ctx, upload.ListOptions{Limit: 100})
	if err != nil {
		a.fail(c, err)
		return
	}
	v := uploadsView{Uploads: ups, MaxFile: "32 MiB (larger files resume through tus)"}
	accts, err := a.bookOf(currentUser(c)).Accounts(ctx)
	if err == nil {
		for _, ac := range accts {
			v.Accounts = append(v.Accounts, ac.ID)
		}
	}
	a.render(c, http.StatusOK, "uploads", view{Title: "Uploads", Active: "admin", Data: v})
}

// csvKind tells a transaction CSV from a price history: the "kind" form
// field when given, else the header row.
func csvKind(meta map[string]string, header string) (string, error) {
	switch k := meta["kind"]; k {
	case "transactions", "prices":
		return k, nil
	case "", "auto":
	default:
		return "", fmt.Errorf("unknown kind %q (transactions or prices)", k)
	}
	cols := map[string]bool{}
	for _, f := range strings.Split(strings.ToLower(strings.TrimPrefix(header, "\ufeff")), ",") {
		cols[strings.TrimSpace(f)] = true
	}
	switch {
	case cols["kind"] && cols["account"]:
		return "transactions", nil
	case cols["close"] || cols["adj close"]:
		return "prices", nil
	}
	return "", errors.New("neither a transaction CSV (date, account, kind, …) nor a price history (date, open, high, low, close)")
}

// processCSV imports a transaction CSV into the uploader's portfolio or
// validates a price history as a backtest data set.
func (a *app) processCSV(ctx context.Context, job *upload.Job) error {
	f, err := job.Open(ctx)
	if err != nil {
		return upload.Transient(err)
	}
	defer f.Close()
	header, _ := bufio.NewReader(io.LimitReader(f, 4096)).ReadString('\n')
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return upload.Transient(err)
	}
	kind, err := csvKind(job.Upload.Meta, strings.TrimRight(header, "\r\n"))
	if err != nil {
		return err
	}
	if kind == "prices" {
		return a.processPrices(job, f)
	}
	return a.processTransactions(ctx, job, f)
}

// processTransactions books every transaction of the file or none: the
// ledger checks them all before the store keeps the new ones. With an
// "account" form field, every row goes to that account of the uploader.
func (a *app) processTransactions(ctx context.Context, job *upload.Job, r io.Reader) error {
	txs, err := portfolio.ReadCSV(r)
	if err != nil {
		return fmt.Errorf("nothing was booked: %w", err)
	}
	if acct := strings.TrimSpace(job.Upload.Meta["account"]); acct != "" {
		for i := range txs {
			txs[i].Account = acct
		}
	}
	job.Progress(50, fmt.Sprintf("checking %d transactions", len(txs)))
	owner := auth.User{ID: job.Upload.Owner, Username: job.Upload.OwnerName}
	n, err := a.importFor(ctx, owner, txs)
	if err != nil {
		return fmt.Errorf("nothing was booked: %s", err.Error())
	}
	job.Progress(100, fmt.Sprintf("booked %d transactions (%d already booked)", n, len(txs)-n))
	return job.SetResult("import", map[string]int{"booked": n, "already_booked": len(txs) - n, "rows": len(txs)})
}

// processPrices validates a price history with the shared bar reader
// (strict, as backtests read it).
func (a *app) processPrices(job *upload.Job, r io.Reader) error {
	bars, err := papertrade.ReadCSV(r)
	if err != nil {
		return fmt.Errorf("not a usable price history: %w", err)
	}
	if len(bars) < 2 {
		return errors.New("not a usable price history: fewer than two bars")
	}
	job.Progress(100, fmt.Sprintf("%d bars, %s – %s", len(bars), bars[0].Time.Format("2006-01-02"), bars[len(bars)-1].Time.Format("2006-01-02")))
	return job.SetResult("prices", map[string]any{"bars": len(bars), "start": bars[0].Time, "end": bars[len(bars)-1].Time})
}

// dataSet is an uploaded price history offered to backtests.
type dataSet struct {
	ID, Name string
}

// dataSets lists the price histories uploaded and validated.
func (a *app) dataSets(ctx context.Context) []dataSet {
	ups, err := a.uploads.List(ctx, upload.ListOptions{Limit: 1000})
	if err != nil {
		return nil
	}
	var out []dataSet
	for _, u := range ups {
		if u.State == upload.StateDone && strings.Contains(u.Result, `"prices"`) {
			out = append(out, dataSet{ID: strings.ToUpper(dataSetPrefix + u.ID), Name: u.Name}) // the form upper-cases symbols
		}
	}
	return out
}

// backtestHistory is the price history of a symbol, or of an uploaded
// data set ("upload:ID").
func (a *app) backtestHistory(c *gin.Context, symbol string) (marketdata.History, error) {
	id, ok := strings.CutPrefix(strings.ToLower(symbol), strings.ToLower(dataSetPrefix))
	if !ok {
		return a.history(c, symbol)
	}
	ctx := c.Request.Context()
	u, f, err := a.uploads.Open(ctx, id)
	if err != nil || u.State != upload.StateDone || !strings.Contains(u.Result, `"prices"`) {
		return marketdata.History{}, errors.New("no such data set")
	}
	defer f.Close()
	bars, err := marketdata.ReadBarsCSVOptions(f, marketdata.CSVOptions{Strict: true})
	if err != nil {
		return marketdata.History{}, err
	}
	return marketdata.History{Symbol: u.Name, Provider: "upload", Interval: marketdata.Daily, Bars: bars}, nil
}

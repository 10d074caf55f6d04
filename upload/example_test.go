package upload_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/finkit/finkit/upload"
)

// An admin-only upload endpoint with a processor for CSV files, and one
// upload through it.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "uploads")
	defer os.RemoveAll(dir)
	fsys, err := upload.OpenFS(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fsys.Close()
	m, err := upload.New(ctx, upload.Options{
		Dir: fsys,
		Authorize: func(r *http.Request) (upload.Principal, error) {
			if r.Header.Get("Authorization") != "Bearer admin-token" {
				return upload.Principal{}, upload.ErrUnauthenticated
			}
			return upload.Principal{ID: "u1", Name: "admin"}, nil
		},
		Processors: map[string][]upload.Processor{"text/csv": {upload.ProcessorFunc(func(ctx context.Context, j *upload.Job) error {
			j.Progress(50, "counting")
			return j.SetResult("bytes", j.Upload.Size)
		})}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	defer m.Shutdown(ctx)

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("file", "../../prices.csv")
	fmt.Fprint(w, "date,close\n2024-01-02,101.5\n")
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/uploads", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer admin-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)

	c := &upload.Client{BaseURL: srv.URL + "/uploads", Token: "admin-token"}
	list, _ := m.List(ctx, upload.ListOptions{})
	done, err := c.Wait(ctx, list[0].ID, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(done.Name, done.State, done.Result)
	// Output:
	// 202 Accepted
	// prices.csv done {"bytes":28}
}

// SanitizeName keeps a displayable last path component.
func ExampleSanitizeName() {
	fmt.Println(upload.SanitizeName("../../etc/passwd"))
	fmt.Println(upload.SanitizeName(`..\..\win.ini`))
	fmt.Println(upload.SanitizeName("invoice\u202Egpj.exe"))
	// Output:
	// passwd
	// win.ini
	// invoicegpj.exe
}

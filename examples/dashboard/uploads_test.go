package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/upload"
)

// postUpload sends one file (and form fields) to the upload API.
func (e *testEnv) postUpload(t *testing.T, c *http.Client, name string, content []byte, fields map[string]string) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		require.NoError(t, mw.WriteField(k, v))
	}
	w, err := mw.CreateFormFile("file", name)
	require.NoError(t, err)
	_, _ = w.Write(content)
	require.NoError(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/uploads", &buf)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *testEnv) uploadAndWait(t *testing.T, c *http.Client, name string, content []byte, fields map[string]string) upload.Upload {
	t.Helper()
	status, out := e.postUpload(t, c, name, content, fields)
	require.Equal(t, http.StatusAccepted, status, "%v", out)
	id := out["uploads"].([]any)[0].(map[string]any)["id"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch, err := e.app.uploads.Watch(ctx, id)
	require.NoError(t, err)
	var last upload.Upload
	for u := range ch {
		last = u
	}
	require.True(t, last.State.Terminal(), "%+v", last)
	return last
}

func storedFiles(t *testing.T, e *testEnv) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(filepath.Join(e.app.cfg.dataDir, uploadsDir), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestUploadsAdminOnly(t *testing.T) {
	e := newTestEnv(t)
	anon := e.client(t)
	user := e.user(t, "ulla", auth.RoleUser)
	admin := e.user(t, "uadmin", auth.RoleAdmin)
	for _, tc := range []struct {
		name   string
		c      *http.Client
		status int
	}{{"anonymous", anon, http.StatusUnauthorized}, {"user", user, http.StatusForbidden}} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, _ := e.get(t, tc.c, "/admin/uploads")
			assert.Equal(t, tc.status, status)
			status, _ = e.postUpload(t, tc.c, "t.csv", []byte("a,b\n1,2\n"), nil)
			assert.Equal(t, tc.status, status)
			for _, p := range []string{"/uploads", "/uploads/x", "/uploads/x/content", "/uploads/x/events"} {
				status, _, _ := e.get(t, tc.c, p)
				assert.Equal(t, tc.status, status, p)
			}
		})
	}
	assert.Equal(t, 0, storedFiles(t, e), "a refused request stored something")
	status, body, _ := e.get(t, admin, "/admin/uploads")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "File uploads")
	assert.Contains(t, body, `src="/static/uploads.js"`)
	_, adminPage, _ := e.get(t, admin, "/admin")
	assert.Contains(t, adminPage, `href="/admin/uploads"`)
	_, userNav, _ := e.get(t, user, "/portfolio")
	assert.NotContains(t, userNav, "/admin/uploads")
}

func TestUploadTransactionsAllOrNothing(t *testing.T) {
	e := newTestEnv(t)
	admin := e.user(t, "treasurer", auth.RoleAdmin)
	e.post(t, admin, "/portfolio/demo", nil)

	good := "date,account,kind,symbol,quantity,price\n2026-01-05,ignored,buy,TSLA,2,410.5\n2026-01-06,ignored,buy,TSLA,1,400\n"
	u := e.uploadAndWait(t, admin, "tx.csv", []byte(good), map[string]string{"account": "broker"})
	require.Equal(t, upload.StateDone, u.State, u.Message)
	assert.JSONEq(t, `{"import":{"booked":2,"already_booked":0,"rows":2}}`, u.Result)
	_, body, _ := e.get(t, admin, "/portfolio")
	assert.Contains(t, body, "TSLA")

	// One bad row: nothing is booked, the job says which line.
	bad := "date,account,kind,symbol,quantity,price\n2026-01-07,broker,buy,GOOG,1,100\n2026-01-08,broker,buy,GOOG,x,100\n"
	u = e.uploadAndWait(t, admin, "bad.csv", []byte(bad), nil)
	assert.Equal(t, upload.StateFailed, u.State)
	assert.Contains(t, u.Message, "nothing was booked")
	assert.Contains(t, u.Message, "line 3")
	// A sale of more than is held fails the whole file.
	oversell := "date,account,kind,symbol,quantity,price\n2026-01-07,broker,buy,GOOG,1,100\n2026-01-08,broker,sell,AAPL,100000,1\n"
	u = e.uploadAndWait(t, admin, "oversell.csv", []byte(oversell), nil)
	assert.Equal(t, upload.StateFailed, u.State)
	_, body, _ = e.get(t, admin, "/portfolio")
	assert.False(t, strings.Contains(body, "GOOG"), "a failed file booked something")
	assert.NotContains(t, u.Message, "u.") // no internal account prefixes
}

func TestUploadPriceHistoryBecomesDataSet(t *testing.T) {
	e := newTestEnv(t)
	admin := e.user(t, "quant", auth.RoleAdmin)
	var csv strings.Builder
	csv.WriteString("Date,Open,High,Low,Close,Volume\n")
	day := time.Date(2023, 1, 2, 0, 0, 0, 0, time.UTC)
	for i := range 300 {
		p := 100 + 10*float64(i%40)/40
		fmt.Fprintf(&csv, "%s,%.2f,%.2f,%.2f,%.2f,%d\n", day.AddDate(0, 0, i).Format("2006-01-02"), p, p+1, p-1, p+0.5, 1000+i)
	}
	u := e.uploadAndWait(t, admin, "acme.csv", []byte(csv.String()), nil)
	require.Equal(t, upload.StateDone, u.State, u.Message)
	assert.Contains(t, u.Message, "300 bars")
	_, page, _ := e.get(t, admin, "/backtest")
	assert.Contains(t, page, "uploaded: acme.csv")
	status, page, _ := e.get(t, admin, "/backtest?run=1&strategy=smacross&symbol=upload:"+u.ID)
	assert.Equal(t, http.StatusOK, status, page)
	assert.Contains(t, page, "300 bars")

	// A price file with a broken row fails validation and is not offered.
	bad := "Date,Open,High,Low,Close\n2023-01-02,1,2,0.5,1.5\n2023-01-03,1,2,0.5,oops\n"
	u = e.uploadAndWait(t, admin, "broken.csv", []byte(bad), map[string]string{"kind": "prices"})
	assert.Equal(t, upload.StateFailed, u.State)
	_, page, _ = e.get(t, admin, "/backtest")
	assert.NotContains(t, page, "broken.csv")
}

func TestUploadImageAndDownload(t *testing.T) {
	e := newTestEnv(t)
	admin := e.user(t, "pics", auth.RoleAdmin)
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewGray(image.Rect(0, 0, 30, 20))))
	u := e.uploadAndWait(t, admin, "../../chart.png", buf.Bytes(), nil)
	require.Equal(t, upload.StateDone, u.State, u.Message)
	assert.Equal(t, "chart.png", u.Name)
	assert.JSONEq(t, `{"image":{"format":"png","width":30,"height":20}}`, u.Result)
	resp, err := admin.Get(e.srv.URL + "/uploads/" + u.ID + "/content")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, buf.Bytes(), b)
	assert.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	assert.Equal(t, "attachment; filename=chart.png", resp.Header.Get("Content-Disposition"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))

	status, out := e.postUpload(t, admin, "fake.png", []byte("<html><script>alert(1)</script>"), nil)
	assert.Equal(t, http.StatusUnsupportedMediaType, status)
	assert.NotEmpty(t, out["error"])

	_, page, _ := e.get(t, admin, "/admin/uploads")
	assert.Contains(t, page, "chart.png")
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/uploads/"+u.ID, nil)
	resp, err = admin.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Contains(t, e.logs.String(), `"event":"upload.deleted"`)
}

// TestUploadClientWithBearerToken: what `finkit upload` does against the
// dashboard: log in through the JSON API, upload with the bearer token
// (multipart and tus), and follow the job's server-sent events through
// Gin and the access-log middleware.
func TestUploadClientWithBearerToken(t *testing.T) {
	e := newTestEnv(t)
	e.user(t, "cli-admin", auth.RoleAdmin)
	e.user(t, "cli-user", auth.RoleUser)
	login := func(name string) string {
		resp, err := http.Post(e.srv.URL+"/api/login", "application/json", strings.NewReader(`{"username":"`+name+`","password":"`+testPassword+`"}`))
		require.NoError(t, err)
		defer resp.Body.Close()
		var out struct{ Token string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		require.NotEmpty(t, out.Token)
		return out.Token
	}
	c := &upload.Client{BaseURL: e.srv.URL + "/uploads", Token: login("cli-admin"), ResumableOver: 10_000, ChunkSize: 8 << 10}
	var csv strings.Builder
	csv.WriteString("Date,Open,High,Low,Close\n")
	day := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)
	for i := 0; csv.Len() < 30_000; i++ {
		fmt.Fprintf(&csv, "%s,10,11,9,10.5\n", day.AddDate(0, 0, i).Format("2006-01-02"))
	}
	for _, size := range []int{5_000, csv.Len()} { // multipart, then tus
		content := csv.String()[:size]
		content = content[:strings.LastIndexByte(content, '\n')+1]
		u, err := c.Send(context.Background(), "series.csv", strings.NewReader(content), int64(len(content)), nil)
		require.NoError(t, err)
		var seen []upload.State
		done, err := c.Wait(context.Background(), u.ID, func(x upload.Upload) { seen = append(seen, x.State) })
		require.NoError(t, err)
		assert.Equal(t, upload.StateDone, done.State, done.Message)
		assert.NotEmpty(t, seen)
	}
	denied := &upload.Client{BaseURL: e.srv.URL + "/uploads", Token: login("cli-user")}
	_, err := denied.Send(context.Background(), "x.csv", strings.NewReader("a\n1\n"), 4, nil)
	var re *upload.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusForbidden, re.Status)
}

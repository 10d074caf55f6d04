package cluster_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/finkit/finkit/examples/internal/cluster"
	"github.com/finkit/finkit/upload/s3storage"
	"github.com/finkit/finkit/upload/s3storage/s3test"
)

// TestUploadFinishedByOtherInstance: both dashboards store uploads in one
// S3 bucket (a real versitygw). An admin uploads a price history through
// A; A is SIGKILLed while the job runs; B takes the job over once A's
// lease expires and finishes it, and the file is in the bucket under its
// content key with the right hash (the staged copy gone).
func TestUploadFinishedByOtherInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, versitygw and two dashboards")
	}
	s3 := s3test.Start(t)
	c := cluster.Start(t, cluster.Options{Env: []string{
		"FINKIT_S3_ENDPOINT=" + s3.Endpoint, "FINKIT_S3_BUCKET=uploads",
		"FINKIT_S3_ACCESS_KEY=" + s3test.AccessKey, "FINKIT_S3_SECRET_KEY=" + s3test.SecretKey,
	}})
	a, b := c.Instances[0], c.Instances[1]
	c.AddUser(t, "root", pw, true)
	token := a.Login(t, "root", pw)

	// A price history big enough that its job takes a while.
	var csv bytes.Buffer
	csv.WriteString("Date,Open,High,Low,Close,Volume\n")
	day := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; csv.Len() < 20<<20; i++ {
		p := 100 + 10*float64(i%40)/40
		fmt.Fprintf(&csv, "%s,%.2f,%.2f,%.2f,%.2f,%d\n", day.AddDate(0, 0, i).Format("2006-01-02"), p, p+1, p-1, p+0.5, 1000+i%5000)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("file", "history.csv")
	_, _ = w.Write(csv.Bytes())
	_ = mw.WriteField("kind", "prices")
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/uploads", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Uploads []struct{ ID string } `json:"uploads"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || len(out.Uploads) != 1 {
		t.Fatalf("upload through A: %d", resp.StatusCode)
	}
	id := out.Uploads[0].ID

	type status struct {
		State    string `json:"state"`
		Attempts int    `json:"attempts"`
		Message  string `json:"message"`
		SHA256   string `json:"sha256"`
	}
	get := func(in *cluster.Instance) status {
		r := in.Get(t, "/uploads/"+id, token)
		var s status
		if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &s) != nil {
			t.Fatalf("status on %s: %d %s", in.Name, r.Status, r.Body)
		}
		return s
	}
	for deadline := time.Now().Add(60 * time.Second); get(b).State != "processing"; {
		if time.Now().After(deadline) {
			t.Fatalf("the job did not start on A: %+v", get(b))
		}
		time.Sleep(5 * time.Millisecond)
	}
	a.Kill(t) // SIGKILL in the middle of the job
	if s := get(b); s.State != "processing" {
		t.Fatalf("the job ended before A was killed (%+v); make it longer", s)
	}

	var s status
	for deadline := time.Now().Add(3 * time.Minute); ; { // A's lease (30 s) must expire first
		if s = get(b); s.State == "done" || s.State == "failed" || s.State == "cancelled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B did not finish the job: %+v", s)
		}
		time.Sleep(200 * time.Millisecond)
	}
	sum := sha256.Sum256(csv.Bytes())
	if s.State != "done" || s.Attempts != 2 || s.SHA256 != hex.EncodeToString(sum[:]) || !strings.Contains(s.Message, "bars") {
		t.Fatalf("after B took over: %+v", s)
	}
	if strings.Contains(a.Log(), `"upload.processed"`) {
		t.Fatal("A finished the job before it was killed")
	}
	if !strings.Contains(b.Log(), `"upload.processed"`) {
		t.Fatal("B's log does not record the job")
	}

	st, err := s3storage.New(context.Background(), s3storage.Options{Endpoint: s3.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "uploads"})
	if err != nil {
		t.Fatal(err)
	}
	key := "sha256/" + s.SHA256[:2] + "/" + s.SHA256
	f, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("the file is not in the bucket under %s: %v", key, err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil || hex.EncodeToString(h.Sum(nil)) != s.SHA256 {
		t.Fatalf("the object in the bucket has another hash (%v)", err)
	}
	if _, err := st.Stat(context.Background(), "incoming/"+id); err == nil {
		t.Fatal("the staged copy is left in the bucket")
	}
}

package upload

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// rawPost sends a multipart body with one file part whose
// Content-Disposition is exactly dispo (no escaping by the test).
func (e *env) rawPost(dispo string, content []byte) (*http.Response, map[string]any) {
	e.t.Helper()
	var b bytes.Buffer
	b.WriteString("--xyz\r\nContent-Disposition: " + dispo + "\r\nContent-Type: text/csv\r\n\r\n")
	b.Write(content)
	b.WriteString("\r\n--xyz--\r\n")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/uploads", &b)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
	req.Header.Set("Authorization", "Bearer admin")
	return e.do(req)
}

// TestNULInNameRefused: a file name with a NUL byte is refused with a
// clear 400, not stored under the name with the NUL dropped ("x.exe\x00.csv"
// was stored as "x.exe.csv": code reading C strings sees "x.exe"), and the
// refusal is in the audit log; through multipart (a raw NUL, RFC 2231
// percent-encoding) and through tus metadata.
func TestNULInNameRefused(t *testing.T) {
	e := newEnv(t, Options{})
	content := []byte("a,b\n1,2\n")
	for _, dispo := range []string{
		"form-data; name=\"file\"; filename=\"x.exe\x00.csv\"",
		"form-data; name=\"file\"; filename*=UTF-8''x.exe%00.csv",
		"form-data; name=\"file\"; filename*=utf-8''%00.csv",
	} {
		resp, body := e.rawPost(dispo, content)
		msg, _ := body["error"].(string)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "NUL") {
			t.Errorf("%q: %d %v, want 400 naming the NUL byte", dispo, resp.StatusCode, body)
		}
	}
	resp := e.tus(http.MethodPost, "/uploads/tus/", "admin", nil, map[string]string{
		"Upload-Length": "8", "Upload-Metadata": "filename " + b64("x.exe\x00.csv"),
	})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("tus: %d, want 400", resp.StatusCode)
	}
	e.requireEmpty()
	if n := strings.Count(e.logs.String(), `"event":"upload.rejected"`); n != 4 {
		t.Errorf("%d rejections audited, want 4:\n%s", n, e.logs.String())
	}
	if !strings.Contains(e.logs.String(), `"name":"x.exe.csv","size":0`) {
		t.Errorf("the refused name is not in the audit log:\n%s", e.logs.String())
	}
	// The same names without the NUL are stored (the refusal is the NUL's).
	resp2, body := e.rawPost("form-data; name=\"file\"; filename*=UTF-8''x%2Ecsv", content)
	if resp2.StatusCode != http.StatusAccepted {
		t.Fatalf("a plain encoded name: %d %v", resp2.StatusCode, body)
	}
}

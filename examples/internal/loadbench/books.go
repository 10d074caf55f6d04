package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// benchPassword is the password of the benchmark's users (long enough for
// the dashboard's policy; the database is thrown away after the run).
const benchPassword = "correct horse battery staple bench"

// register creates a user through the registration form, then logs in
// through the JSON API and returns the bearer token.
func register(ctx context.Context, c *http.Client, base, name string) (string, error) {
	form := url.Values{"username": {name}, "password": {benchPassword}, "confirm": {benchPassword}}
	resp, err := post(ctx, c, base+"/register", "", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("register %s: status %d", name, resp.StatusCode)
	}
	body, _ := json.Marshal(map[string]string{"username": name, "password": benchPassword})
	resp, err = post(ctx, c, base+"/api/login", "", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	var res struct{ Token string }
	if err := json.Unmarshal(resp.body, &res); err != nil || res.Token == "" {
		return "", fmt.Errorf("login %s: status %d", name, resp.StatusCode)
	}
	return res.Token, nil
}

// loadDemo books the demo portfolio (three accounts, 20 transactions).
func loadDemo(ctx context.Context, c *http.Client, base, token string) error {
	resp, err := post(ctx, c, base+"/portfolio/demo", token, "application/x-www-form-urlencoded", nil)
	if err != nil {
		return err
	}
	if flash := resp.flash(); !strings.HasPrefix(flash, "Loaded the demo") {
		return fmt.Errorf("demo portfolio: status %d %q", resp.StatusCode, flash)
	}
	return nil
}

// importCSV imports a transaction CSV through the portfolio page's form and
// returns the page's message.
func importCSV(ctx context.Context, c *http.Client, base, token string, csv []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "bench.csv")
	if err != nil {
		return "", err
	}
	_, _ = fw.Write(csv)
	if err := mw.Close(); err != nil {
		return "", err
	}
	resp, err := post(ctx, c, base+"/portfolio/import", token, mw.FormDataContentType(), &body)
	if err != nil {
		return "", err
	}
	flash := resp.flash()
	if !strings.HasPrefix(flash, "Imported") {
		return "", fmt.Errorf("import: status %d %q", resp.StatusCode, flash)
	}
	return flash, nil
}

type response struct {
	*http.Response
	body []byte
}

// flash is the message a form's redirect carries: in the dashboard's
// flash cookie (base64 JSON, then its signature, which only the server
// needs to check), or in older versions the redirect's flash parameter.
func (r response) flash() string {
	for _, ck := range r.Cookies() {
		if ck.Name != "finkit_flash" {
			continue
		}
		payload, _, _ := strings.Cut(ck.Value, ".")
		b, err := base64.RawURLEncoding.DecodeString(payload)
		var fl struct {
			Text string `json:"t"`
		}
		if err == nil && json.Unmarshal(b, &fl) == nil {
			return fl.Text
		}
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		return ""
	}
	return loc.Query().Get("flash")
}

func post(ctx context.Context, c *http.Client, to, token, ctype string, body io.Reader) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, body)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{resp, b}, err
}

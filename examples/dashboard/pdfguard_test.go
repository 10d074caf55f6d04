package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/testutil"
	"github.com/finkit/finkit/pdfexport"
)

// TestPDFConverterDeniesPrivateNetworks (issue 13 item 14): the converter
// the dashboard prints its reports with is given a document that points at
// a service on this machine (an image, an iframe, a stylesheet, a fetch,
// then a page that navigates to it). The service is never reached, and the
// first report still prints. Before, the converter ran without
// DenyPrivateNetworks and the navigation reached the service (Chromium's
// own private-network checks stopped only the sub-resources), so user
// markup in a report would have been an SSRF.
func TestPDFConverterDeniesPrivateNetworks(t *testing.T) {
	testutil.RequireChrome(t)
	var hits atomic.Int64
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("secret"))
	}))
	defer internal.Close()

	e := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conv, err := e.app.pdf.get(ctx)
	require.NoError(t, err)
	// Sub-resources of every kind, and a page that navigates away.
	docs := []string{
		fmt.Sprintf(`<!doctype html><html><head><link rel="stylesheet" href="%[1]s/s.css"></head><body>
<h1>report</h1><img src="%[1]s/i.png"><iframe src="%[1]s/frame"></iframe>
<script>fetch("%[1]s/fetch").catch(()=>{})</script></body></html>`, internal.URL),
		fmt.Sprintf(`<!doctype html><html><body><h1>report</h1><script>location.href = "%s/navigate"</script></body></html>`, internal.URL),
	}
	for i, doc := range docs {
		timeout := 30 * time.Second
		if i == 1 {
			timeout = 5 * time.Second // it never loads: its navigation is refused
		}
		_, err := conv.ConvertHTML(ctx, doc, pdfexport.PageOptions{Timeout: timeout})
		if i == 0 {
			assert.NoError(t, err, "a report whose sub-resources are refused still prints")
		}
	}
	assert.Zero(t, hits.Load(), "the converter reached a service on this machine")
}

func TestOwnHost(t *testing.T) {
	for _, tc := range []struct {
		cfg  config
		want string
	}{
		{config{addr: "localhost:8080"}, ""},
		{config{addr: "127.0.0.1:8080"}, ""},
		{config{addr: "[::1]:8080"}, ""},
		{config{addr: ":8080", publicHost: "dash.example.com"}, "dash.example.com"},
		{config{addr: "0.0.0.0:8080"}, ""},
		{config{addr: "10.1.2.3:8080"}, "10.1.2.3"},
		{config{addr: "localhost:8080", publicHost: "dash.example.com:8443"}, "dash.example.com"},
		{config{addr: "localhost:8080", publicHost: "app.localhost"}, ""},
	} {
		assert.Equal(t, tc.want, ownHost(tc.cfg), "%+v", tc.cfg)
		o := pdfOptions(tc.cfg)
		assert.True(t, o.DenyPrivateNetworks)
		if tc.want == "" {
			assert.Empty(t, o.AllowHosts)
		} else {
			assert.Equal(t, []string{tc.want}, o.AllowHosts)
		}
	}
}

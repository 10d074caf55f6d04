package pdfexport

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	c := sharedConverter(t)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><h1>Hello PDF world</h1></body></html>`)
	}))
	defer ts.Close()
	pdf, err := c.Convert(testCtx(t), ts.URL, PageOptions{})
	require.NoError(t, err)
	require.Contains(t, pdfText(t, pdf, 0), "Hello PDF world")
	info := pdfInfoOf(t, pdf)
	t.Logf("%+v", info)
	pdf, err = c.ConvertHTML(testCtx(t), `<p>inline doc</p>`, PageOptions{})
	require.NoError(t, err)
	require.Contains(t, pdfText(t, pdf, 0), "inline doc")
}

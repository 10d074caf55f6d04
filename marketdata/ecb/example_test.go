package ecb_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/finkit/finkit/marketdata/ecb"
)

// A client pointed at a local server that replays a recorded daily file;
// in production leave BaseURL empty. NOK per USD is crossed through EUR.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != ecb.DailyPath {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, "testdata/ecb-eurofxref-daily.xml")
	}))
	defer srv.Close()

	c, err := ecb.New(ecb.Options{BaseURL: srv.URL})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, pair := range [][2]string{{"EUR", "USD"}, {"USD", "NOK"}} {
		r, err := c.Rate(context.Background(), pair[0], pair[1])
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s/%s %.4f on %s\n", r.From, r.To, r.Rate, r.Time.Format("2006-01-02"))
	}
	// Output:
	// EUR/USD 1.1831 on 2015-01-07
	// USD/NOK 7.7339 on 2015-01-07
}

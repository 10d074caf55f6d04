package pdfexport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/finkit/finkit/pdfexport"
)

// Convert an HTML report to an A4 PDF with a page-numbered footer. The
// example needs Chromium, so it is compiled but not run by go test (it has
// no Output comment); the conversion tests cover it and skip without
// Chromium outside CI.
func ExampleConverter_ConvertHTML() {
	ctx := context.Background()
	conv, err := pdfexport.New(ctx, pdfexport.Options{PoolSize: 2})
	if errors.Is(err, pdfexport.ErrNoBrowser) {
		log.Fatal("install Chromium: ", err)
	} else if err != nil {
		log.Fatal(err)
	}
	defer conv.Close()

	pdf, err := conv.ConvertHTML(ctx, `<h1>Portfolio</h1><p>Net worth: 12,345.67 EUR</p>`, pdfexport.PageOptions{
		Paper:      pdfexport.A4(),
		Margins:    pdfexport.UniformMargins(pdfexport.Millimeters(15)),
		FooterHTML: `<div style="font-size:9px;margin:auto">Page <span class="pageNumber"></span> of <span class="totalPages"></span></div>`,
		Timeout:    30 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bytes.HasPrefix(pdf, []byte("%PDF-")))
	// Prints: true
}

// Check a user-supplied URL and refuse what would reach the private network.
func ExampleOptions_denyPrivateNetworks() {
	ctx := context.Background()
	conv, err := pdfexport.New(ctx, pdfexport.Options{DenyPrivateNetworks: true})
	if err != nil {
		log.Fatal(err)
	}
	defer conv.Close()

	for _, u := range []string{"file:///etc/passwd", "http://169.254.169.254/latest/meta-data/", "http://localhost:8080/admin"} {
		_, err := conv.Convert(ctx, u, pdfexport.PageOptions{})
		fmt.Println(errors.Is(err, pdfexport.ErrUnsupportedURL), errors.Is(err, pdfexport.ErrBlockedURL))
	}
	// Prints:
	// true false
	// false true
	// false true
}

func ExampleParsePaperSize() {
	for _, s := range []string{"A4", "letter", "100mm x 150mm"} {
		p, err := pdfexport.ParsePaperSize(s)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %.0f x %.0f pt\n", s, p.Width.Points(), p.Height.Points())
	}
	// Output:
	// A4: 595 x 842 pt
	// letter: 612 x 792 pt
	// 100mm x 150mm: 283 x 425 pt
}

package main

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
)

// app holds the dashboard's components and its routes.
type app struct {
	log    *slog.Logger
	engine *gin.Engine
}

func newApp(_ context.Context, _ config, logger *slog.Logger) (*app, error) {
	gin.SetMode(gin.ReleaseMode)
	a := &app{log: logger, engine: gin.New()}
	a.engine.Use(gin.Recovery())
	a.engine.SetHTMLTemplate(template.Must(template.New("index").Parse(indexHTML)))
	a.engine.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	a.engine.GET("/", a.index)
	return a, nil
}

// Handler returns the HTTP handler serving the dashboard.
func (a *app) Handler() http.Handler { return a.engine }

// Close releases what the app holds.
func (a *app) Close() error { return nil }

type pkgInfo struct{ Name, Summary string }

var packages = []pkgInfo{
	{"portfolio", "accounts, transactions, cost basis, P&L, returns and allocation in exact decimals"},
	{"marketdata", "quote, FX and crypto providers fetched in parallel and merged; price statistics"},
	{"papertrade", "simulated broker, backtesting engine and Monte Carlo long-run verdicts"},
	{"securechat", "end-to-end encrypted chat on NaCl primitives with a ciphertext-only relay"},
	{"pdfexport", "save any URL or HTML as PDF through a warm headless Chromium pool"},
	{"auth", "registration, login, sessions, roles and two-factor authentication"},
	{"logging", "structured log/slog setup with redaction, request ids and access logs"},
}

func (a *app) index(c *gin.Context) {
	c.HTML(http.StatusOK, "index", gin.H{"Packages": packages})
}

const indexHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>finkit dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1d2433}
h1{font-size:1.6rem}table{border-collapse:collapse;width:100%}td{padding:.4rem .6rem;border-bottom:1px solid #e3e6ec}
td:first-child{font-family:ui-monospace,monospace;font-weight:600}</style></head>
<body><h1>finkit dashboard</h1><p>Building blocks for personal-finance web apps in Go.</p>
<table>{{range .Packages}}<tr><td>{{.Name}}</td><td>{{.Summary}}</td></tr>{{end}}</table>
</body></html>`

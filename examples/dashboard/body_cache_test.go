package main

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// layoutFields returns every field chain the template tree t reads
// (".User.Username" as "User.Username") and the templates it calls.
func layoutFields(t *testing.T, tree *parse.Tree) (fields, calls []string) {
	t.Helper()
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case nil:
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			calls = append(calls, n.Name)
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			fields = append(fields, strings.Join(n.Ident, "."))
		case *parse.ChainNode:
			t.Errorf("the layout reads a chain %s: make it part of layoutKey", n)
		case *parse.VariableNode:
			t.Errorf("the layout reads a variable %s: make it part of layoutKey", n)
		case *parse.TextNode, *parse.DotNode, *parse.StringNode, *parse.BoolNode, *parse.NumberNode, *parse.NilNode, *parse.IdentifierNode:
		default:
			t.Errorf("the layout has a %T node (%s): check what it reads", n, n)
		}
	}
	walk(tree.Root)
	return fields, calls
}

// TestLayoutReadsOnlyItsKey: the layout around cached content reads of
// its view only what layoutKey holds (title, active entry, the user's
// presence, name and role) and the flash messages (with which no body is
// kept), so a kept body is the layout any request with that key would
// get. A field added to the layout fails here until it is in the key.
func TestLayoutReadsOnlyItsKey(t *testing.T) {
	p, err := loadPages()
	require.NoError(t, err)
	layout := p.byName["rendered"].Lookup("layout")
	require.NotNil(t, layout)
	fields, calls := layoutFields(t, layout.Tree)
	allowed := []string{"Title", "Active", "User", "User.Username", "User.IsAdmin", "Flash", "Error"}
	for _, f := range fields {
		assert.Contains(t, allowed, f, "the layout reads .%s, which layoutKey does not hold", f)
	}
	for _, want := range []string{"Title", "Active", "User.Username", "User.IsAdmin", "Flash"} {
		assert.Contains(t, fields, want, "the layout no longer reads .%s: keep the test's list true", want)
	}
	assert.Equal(t, []string{"content"}, slices.Compact(calls), "the layout calls only the content")
	content, _ := layoutFields(t, p.byName["rendered"].Lookup("content").Tree)
	assert.Equal(t, []string{"Data"}, content, "rendered.html's content is the marker (view.Data)")

	u := auth.User{Username: "ann", Role: auth.RoleUser}
	admin := u
	admin.Role = auth.RoleAdmin
	other := u
	other.Username = "bob"
	base := view{Title: "Portfolio", Active: "portfolio", User: &u}
	keys := map[layoutKey]string{}
	for name, v := range map[string]view{"base": base, "other user": {Title: "Portfolio", Active: "portfolio", User: &other},
		"admin": {Title: "Portfolio", Active: "portfolio", User: &admin}, "logged out": {Title: "Portfolio", Active: "portfolio"},
		"title": {Title: "Overview", Active: "portfolio", User: &u}, "active": {Title: "Portfolio", Active: "home", User: &u}} {
		k := layoutKeyOf(v)
		require.NotContains(t, keys, k, "%s has the key of %s", name, keys[k])
		keys[k] = name
	}
	assert.Equal(t, layoutKeyOf(base), layoutKeyOf(view{Title: "Portfolio", Active: "portfolio", User: &u, Data: "other content"}))
}

// TestKeptBodyIsTheTemplatesPage: the second request for a page is
// answered from the body kept by the first, and it is byte for byte the
// whole template over the same view; the home page too. A promotion to
// admin is a new layout (the menu gets Admin), not the kept body.
func TestKeptBodyIsTheTemplatesPage(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "kept", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	e.get(t, c, "/portfolio") // shows the demo's flash message
	whole := func(u auth.User, r *renderedPortfolio, period string) string {
		v := *r.view
		v.Period = period
		var want bytes.Buffer
		require.NoError(t, e.app.pages.byName["portfolio"].ExecuteTemplate(&want, "layout",
			view{Title: "Portfolio", Active: "portfolio", User: &u, Data: &v}))
		return want.String()
	}
	for range 3 {
		_, first, _ := e.get(t, c, "/portfolio?period=1Y")
		_, second, h := e.get(t, c, "/portfolio?period=1Y")
		r, u := e.currentRender(t, "kept")
		kept, ok := r.bodies.get(bodyKey{page: "portfolio 1Y", layout: layoutKeyOf(view{Title: "Portfolio", Active: "portfolio", User: &u})})
		if !ok || first != second {
			continue // revalued between the two requests: try again
		}
		assert.Equal(t, string(kept.plain), second, "served from the kept body")
		assert.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
		requireSameText(t, whole(u, r, "1Y"), second, "kept body")
		assert.NotContains(t, second, `href="/admin"`)

		_, home1, _ := e.get(t, c, "/")
		_, home2, _ := e.get(t, c, "/")
		r, u = e.currentRender(t, "kept")
		if kept, ok := r.bodies.get(bodyKey{page: "overview", layout: layoutKeyOf(view{Title: "Overview", Active: "home", User: &u})}); ok && home1 == home2 {
			assert.Equal(t, string(kept.plain), home2)
			v := e.app.overviewOf(context.Background(), r.view)
			var want bytes.Buffer
			require.NoError(t, e.app.pages.byName["overview"].ExecuteTemplate(&want, "layout", view{Title: "Overview", Active: "home", User: &u, Data: v}))
			requireSameText(t, want.String(), home2, "kept home page")
		}

		promoted, err := e.app.auth.SetRole(context.Background(), u.ID, auth.RoleAdmin)
		require.NoError(t, err)
		c = e.login(t, "kept") // the role change ended the session
		status, page, _ := e.get(t, c, "/portfolio?period=1Y")
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, page, `href="/admin"`, "the admin's menu, not the user's kept page")
		r, _ = e.currentRender(t, "kept")
		requireSameText(t, whole(promoted, r, "1Y"), page, "the admin's page")
		return
	}
	t.Fatal("every pair of requests straddled a revaluation")
}

package main

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/securechat"
)

func escape(s string) string { return url.QueryEscape(s) }

type adminUser struct {
	User     auth.User
	Sessions int
	Self     bool
}

type adminView struct {
	Users     []adminUser
	Providers []string
	DataDir   string
	// Chat is what the chat relay holds undelivered, and its limit.
	Chat      securechat.StorageUsage
	ChatLimit int64
}

func (a *app) adminPage(c *gin.Context) {
	ctx := c.Request.Context()
	me := currentUser(c)
	users, err := a.auth.Users(ctx)
	if err != nil {
		a.fail(c, err)
		return
	}
	v := adminView{Providers: []string{"sim", "sim-eu", "sim-slow"}, DataDir: a.cfg.dataDir, ChatLimit: a.relay.StorageQuota()}
	if v.Chat, err = a.relay.Usage(ctx); err != nil {
		a.fail(c, err)
		return
	}
	for _, u := range users {
		ss, err := a.auth.Sessions(ctx, u.ID)
		if err != nil {
			a.fail(c, err)
			return
		}
		v.Users = append(v.Users, adminUser{User: u, Sessions: len(ss), Self: u.ID == me.ID})
	}
	a.render(c, http.StatusOK, "admin", view{Title: "Admin", Active: "admin", Data: v})
}

func (a *app) adminSetRole(c *gin.Context) {
	ctx := c.Request.Context()
	me := currentUser(c)
	id := c.Param("id")
	role, err := auth.ParseRole(c.PostForm("role"))
	if err != nil {
		flashFail(c, "/admin", "Unknown role.")
		return
	}
	if id == me.ID {
		flashFail(c, "/admin", "You cannot change your own role here; use `finkit user set-role`.")
		return
	}
	u, err := a.auth.SetRole(ctx, id, role)
	if err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			flashFail(c, "/admin", "No such user.")
			return
		}
		a.fail(c, err)
		return
	}
	flashRedirect(c, "/admin", u.Username+" is now "+string(u.Role)+" (their sessions were ended).")
}

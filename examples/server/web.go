package main

import (
	"net/http"

	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/web"
)

// webHandler serves the admin UI on every path the app's machine endpoints
// do not take.
var webHandler = func(a *app.App) http.Handler { return web.New(a, web.Config{}) }

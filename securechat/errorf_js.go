//go:build js

package securechat

// errorf formats an error like fmt.Errorf for the verbs this package uses
// (see formatError), without linking fmt into the WebAssembly module.
func errorf(format string, args ...any) error { return formatError(format, args) }

//go:build !js

package securechat

import "fmt"

// errorf is fmt.Errorf; the WebAssembly build formats without fmt (see
// formatError).
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

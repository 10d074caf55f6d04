// Package securechat is end-to-end encrypted messaging on NaCl primitives.
package securechat

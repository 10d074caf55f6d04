// Package upload is admin-only file upload for finkit apps: a streaming
// intake handler, validation of names and types, local (or pluggable)
// storage, and a goroutine worker pipeline that stores and processes every
// accepted file with job status.
//
// # Storage
//
// Files are stored under generated keys through a Storage; FS is the local
// file-system implementation, rooted in one directory through an os.Root so
// that nothing can be written outside it. Writes are atomic (temporary file,
// fsync, rename, fsync of the directory).
//
// # Names and types
//
// A client's file name is only ever displayed: SanitizeName keeps its last
// path component without control or bidi characters, in NFC, at most 255
// bytes. The type of a file is checked three ways: its extension must be
// on the allow-list (see FileType and DefaultTypes), the type
// http.DetectContentType sniffs from its first bytes must be the one that
// extension promises, and so must its signature; text types are checked for
// NUL bytes and invalid UTF-8 over the whole content.
package upload

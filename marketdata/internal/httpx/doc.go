// Package httpx holds the HTTP plumbing shared by the marketdata providers:
// a client with a default timeout and User-Agent, a response size limit, and
// the mapping of HTTP statuses to marketdata's typed errors.
package httpx

// Package securitytest proves that the mesh runs with real credentials and
// least privilege: every authentication and transport option of nats.go
// through mesh.Config.NATSOptions (TLS, mutual TLS, user and password,
// token, NKey, JWT creds), the wording of credential errors, that no
// secret is logged, and that the permissions of package permissions let
// each service, browser (over WebSocket), SSE edge and signing-key reader
// do its work and nothing more. It has only tests.
package securitytest

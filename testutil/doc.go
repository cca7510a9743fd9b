// Package testutil runs the mesh in tests: an embedded nats-server with
// JetStream on a random loopback port ([StartServer]) and a [Recorder] that
// collects events and waits for them with deadlines.
//
// It needs no Docker, no external server and no environment variables, so
// services built on the mesh can test themselves with plain go test, as the
// mesh's own tests do.
package testutil

// Package faulttest holds the mesh's fault-injection tests: a server process
// killed with SIGKILL and restarted on its store, the loss of a cluster
// node holding the stream's leader, and a network that drops and delays
// connections. Each of these prints a one-line summary (emitted,
// acknowledged, handled, lost, duplicates) and asserts that no acknowledged
// event is lost. TestScheduleSurvivesLeaderLoss stops the server leading
// the schedule stream before a scheduled event's time and asserts that the
// live and the durable handler each get it once, not early.
//
// Counts are small by default so that make test stays fast; make soak runs
// them larger with -soak.
package faulttest

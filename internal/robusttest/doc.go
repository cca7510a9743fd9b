// Package robusttest holds black-box regression tests of the mesh's blast
// radius: events, names, errors and shutdowns at or past the limits that
// once stopped, slowed or closed a worker (issue 11). Each test drives a
// public API against an embedded server and asserts the behaviour the issue
// asks for. The package has no code of its own.
package robusttest

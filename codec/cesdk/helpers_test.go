package cesdk_test

import "github.com/exprsn/ipcmesh/codec/internal/codectest"

// Short names for the fixtures and helpers shared with package codec's tests
// (see package codectest).
var (
	goldenTime   = codectest.GoldenTime
	fullEvent    = codectest.FullEvent
	minimalEvent = codectest.MinimalEvent
	assertEvent  = codectest.AssertEvent
	benchEvent   = codectest.BenchEvent
)

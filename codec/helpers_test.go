package codec_test

import "github.com/exprsn/ipcmesh/codec/internal/codectest"

// Short names for the fixtures and helpers shared with package cesdk's tests
// (see package codectest).
var (
	goldenTime   = codectest.GoldenTime
	fullEvent    = codectest.FullEvent
	minimalEvent = codectest.MinimalEvent
	assertEvent  = codectest.AssertEvent
	benchData    = codectest.BenchData
	benchEvent   = codectest.BenchEvent
)

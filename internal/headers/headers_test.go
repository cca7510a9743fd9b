package headers

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

func TestCopyLeavesOutWhatCannotBeStoredAgain(t *testing.T) {
	src := nats.Header{
		"Bad Key":                     {"v"},
		"a/b":                         {"v"},
		"Nats-Expected-Last-Sequence": {"1"},
		"nats-rollup":                 {"all"},
		"Mesh-Dlq-Reason":             {"forged"},
		"Ce-Id":                       {"1"},
		"Big":                         {strings.Repeat("x", 100)},
	}
	dst := nats.Header{}
	if Copy(dst, src, 50) {
		t.Fatal("Copy reported everything copied")
	}
	if got := len(dst); got != 1 || dst.Get("Ce-Id") != "1" {
		t.Fatalf("copied %v, want only Ce-Id", dst)
	}
	dst = nats.Header{}
	if !Copy(dst, nats.Header{"Ce-Id": {"1"}, "Nats-Msg-Id": {"x"}}, 1000) {
		t.Fatal("JetStream's headers are not the event's: leaving them out is no omission")
	}
}

func TestWireSizeIsWhatNATSCounts(t *testing.T) {
	if n := WireSize(nil); n != 0 {
		t.Fatalf("no headers: %d bytes, want 0", n)
	}
	// "NATS/1.0\r\n" + "K: v\r\n" + "\r\n", the value trimmed as nats.go does.
	if n := WireSize(nats.Header{"K": {" v "}}); n != 10+6+2 {
		t.Fatalf("got %d bytes, want 18", n)
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	s := strings.Repeat("é", 10)
	for n := range len(s) + 2 {
		got := Truncate(s, n)
		if len(got) > n || !utf8.ValidString(got) {
			t.Fatalf("Truncate(%d) = %q", n, got)
		}
	}
}

package swar

import (
	"encoding/binary"
	"testing"

	"github.com/exprsn/ipcmesh/codec/internal/swar/swartest"
)

func TestLoad64(t *testing.T) {
	for x := range swartest.Words {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], x)
		if got := Load64(string(b[:]), 0); got != x {
			t.Fatalf("Load64(% x) = %#x, want %#x", b, got, x)
		}
		if got := Load64("..."+string(b[:]), 3); got != x {
			t.Fatalf("Load64(...% x, 3) = %#x, want %#x", b, got, x)
		}
	}
}

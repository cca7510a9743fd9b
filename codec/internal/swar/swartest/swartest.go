// Package swartest gives the tests of codec's SWAR predicates their input.
package swartest

import (
	"encoding/binary"
	"math/rand/v2"
)

// Words yields words with every byte value at every position, and random
// words, for checking SWAR helpers against their byte-wise definitions.
func Words(yield func(uint64) bool) {
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			for _, fill := range []byte{'a', 0x7E, 0x21, 0x00, 0xFF} {
				var b [8]byte
				for i := range b {
					b[i] = fill
				}
				b[pos] = byte(c)
				if !yield(binary.LittleEndian.Uint64(b[:])) {
					return
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		if !yield(r.Uint64()) {
			return
		}
	}
}

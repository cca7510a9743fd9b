// Package swar holds the word-at-a-time helpers ("SIMD within a register")
// that codec's byte scanners share: the JSON string scanner (package
// jsonscan) and the header percent-encoder (package pctenc) test eight bytes
// at once for bytes that need attention.
package swar

// LSB has one in every byte of a word, and MSB the high bit of every byte.
const (
	LSB = 0x0101010101010101
	MSB = 0x8080808080808080
)

// Load64 reads s[i:i+8] as a little-endian word (the compiler makes it one
// load).
func Load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

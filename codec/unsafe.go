package codec

import "unsafe"

// bytesToStringNoCopy returns a string that shares b's memory. The result must
// only be read while b is not modified, and must not be retained: callers use
// it to scan b in place (substrings of it that outlive the call are copied).
func bytesToStringNoCopy(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

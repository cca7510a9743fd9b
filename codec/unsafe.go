package codec

import "unsafe"

// bytesToStringNoCopy returns a string that shares b's memory. The result must
// only be read while b is not modified: callers use it to scan b in place,
// or, in DecodeOwned, for a body its caller promises never to modify.
func bytesToStringNoCopy(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

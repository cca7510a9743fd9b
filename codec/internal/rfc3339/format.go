// Package rfc3339 writes and reads the timestamps of CloudEvents' time
// attribute: RFC 3339 with nanoseconds. Append writes a time byte for byte
// as time.Time.AppendFormat(time.RFC3339Nano) would (in UTC if RFC 3339
// cannot state its zone offset), and ParseCanonicalUTC reads the form it
// writes for a UTC time, leaving any other timestamp to Parse: time.Parse
// and AppendFormat handle every layout, and so pay for generality on every
// event.
package rfc3339

import "time"

// AsWritten returns t as Append writes it: in its own zone if RFC 3339 can
// state the offset (whole minutes, less than a day), else in UTC, so that
// the instant always survives.
func AsWritten(t time.Time) time.Time {
	if _, off := t.Zone(); !offsetWritable(off) {
		return t.UTC()
	}
	return t
}

// offsetWritable reports whether RFC 3339 can state the zone offset off (in
// seconds east of UTC): whole minutes, less than a day.
func offsetWritable(off int) bool {
	return off%60 == 0 && off > -24*3600 && off < 24*3600
}

// Append appends t as it is written on the wire (in the zone AsWritten
// picks), in RFC 3339 with nanoseconds: byte for byte what
// AsWritten(t).AppendFormat(dst, time.RFC3339Nano) appends. The fraction has
// no trailing zeros and is left out when zero; the offset is "Z" for UTC,
// else +hh:mm or -hh:mm. It reports false, and appends nothing, if the year
// of AsWritten(t) is outside 0000..9999.
func Append(dst []byte, t time.Time) ([]byte, bool) {
	_, off := t.Zone()
	if !offsetWritable(off) {
		off = 0 // AsWritten puts t in UTC
	}
	// Seconds of wall-clock time in the zone, counted from the first
	// instant that can be written, 0000-01-01T00:00:00.
	const first, last = -62167219200, 253402300799 // Unix times of 0000-01-01T00:00:00Z, 9999-12-31T23:59:59Z
	secs := t.Unix() + int64(off)
	if secs < first || secs > last {
		return dst, false
	}
	// Unsigned from here on: division by a constant is cheaper.
	u := uint64(secs - first)
	year, month, day := civilDate(uint(u / 86400))
	sod := uint(u % 86400)
	hour, minute, sec := sod/3600, sod/60%60, sod%60
	dst = append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	if ns := uint(t.Nanosecond()); ns != 0 {
		// Each digit on its own, rather than a chain of divisions by 10,
		// then trailing zeros dropped (there is a non-zero digit).
		dst = append(dst, '.',
			byte('0'+ns/1e8), byte('0'+ns/1e7%10), byte('0'+ns/1e6%10),
			byte('0'+ns/1e5%10), byte('0'+ns/1e4%10), byte('0'+ns/1e3%10),
			byte('0'+ns/100%10), byte('0'+ns/10%10), byte('0'+ns%10))
		for dst[len(dst)-1] == '0' {
			dst = dst[:len(dst)-1]
		}
	}
	if off == 0 {
		return append(dst, 'Z'), true
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	hh, mm := off/3600, off/60%60
	return append(dst, sign, byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mm/10), byte('0'+mm%10)), true
}

// civilDate returns the proleptic Gregorian date that lies days days after
// 0000-01-01.
func civilDate(days uint) (year, month, day uint) {
	// Count from 0000-03-01 instead (year 0 is a leap year: 31+29 days
	// before it), so that the leap day is the last day of a year, and from
	// one 400-year cycle earlier, so that the count is not negative.
	const (
		cycle400 = 400*365 + 97 // days in 400 years
		cycle100 = 100*365 + 24 // in 100 years, the last not a leap year
		cycle4   = 4*365 + 1    // in 4 years, the last a leap year
	)
	d := days - (31 + 29) + cycle400
	n400, d := d/cycle400, d%cycle400
	n100 := min(d/cycle100, 3) // the last day of a 400-year cycle is in its fourth century
	d -= n100 * cycle100
	n4, d := d/cycle4, d%cycle4
	n1 := min(d/365, 3) // the leap day is in the fourth year
	d -= n1 * 365
	year = 400*(n400-1) + 100*n100 + 4*n4 + n1
	// d is the day of the year from March 1. Month lengths from March run
	// 31 30 31 30 31, 31 30 31 30 31, 31 (28/29): five months take 153
	// days, and the closed form below counts whole months in d.
	m := (5*d + 2) / 153 // 0 is March
	day = d - (153*m+2)/5 + 1
	if m < 10 {
		return year, m + 3, day
	}
	return year + 1, m - 9, day // January and February end the March year
}

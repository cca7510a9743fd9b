package codec

import "time"

// This file holds fast paths for timestamps in RFC 3339 with nanoseconds:
// writing any wire time, and reading the UTC form the encoder writes.
// time.Parse and AppendFormat handle every layout and so pay for generality
// on every event.

// appendTime appends t as it is written on the wire (in the zone wireTime
// picks), in RFC 3339 with nanoseconds: byte for byte what
// wireTime(t).AppendFormat(dst, time.RFC3339Nano) appends. The fraction has
// no trailing zeros and is left out when zero; the offset is "Z" for UTC,
// else +hh:mm or -hh:mm. It reports false, and appends nothing, if the year
// is outside 0000..9999 (exactly when checkTime fails for a non-zero t).
func appendTime(dst []byte, t time.Time) ([]byte, bool) {
	_, off := t.Zone()
	if !offsetWritable(off) {
		off = 0 // wireTime writes t in UTC
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

// parseCanonicalUTC parses s if it has the form
// "2006-01-02T15:04:05[.fraction]Z", with 1 to 9 fraction digits and every
// field in range (month 01..12, day within its month, leap years included,
// hour 00..23, minute and second 00..59). For such an s it returns exactly
// what time.Parse(time.RFC3339, s) returns, and ok true; for any other s it
// returns ok false, and the caller must use the general path.
func parseCanonicalUTC(s string) (t time.Time, ok bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || len(s) > len("2006-01-02T15:04:05.999999999Z") ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	year := num2(s[0], s[1])*100 + num2(s[2], s[3])
	month := num2(s[5], s[6])
	day := num2(s[8], s[9])
	hour := num2(s[11], s[12])
	minute := num2(s[14], s[15])
	sec := num2(s[17], s[18])
	// num2 gives a negative result or one over 99 for a non-digit, which
	// fails the range checks (year: the sum of two is negative or > 9999).
	if year < 0 || year > 9999 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := s[19 : len(s)-1]; frac != "" {
		if len(frac) < 2 || frac[0] != '.' {
			return time.Time{}, false
		}
		for i := 1; i < len(frac); i++ {
			d := frac[i] - '0'
			if d > 9 {
				return time.Time{}, false
			}
			nsec = nsec*10 + int(d)
		}
		for i := len(frac); i < 10; i++ {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// num2 returns the value of two decimal digits, or a value outside 0..99
// (negative or at least 100) if either is not a digit.
func num2(a, b byte) int {
	hi, lo := int(a)-'0', int(b)-'0'
	if uint(hi) > 9 || uint(lo) > 9 {
		return -1 << 20
	}
	return hi*10 + lo
}

// daysIn returns the number of days in month (1..12) of year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

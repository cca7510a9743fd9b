package codec

import "time"

// This file holds fast paths for timestamps in RFC 3339 with nanoseconds:
// writing any wire time, and reading the UTC form the encoder writes.
// time.Parse and AppendFormat handle every layout and so pay for generality
// on every event.

// appendTime appends t, a time as wireTime returns it, in RFC 3339 with
// nanoseconds: byte for byte what t.AppendFormat(dst, time.RFC3339Nano)
// appends. The fraction has no trailing zeros and is left out when zero; the
// offset is "Z" for UTC, else +hh:mm or -hh:mm. It reports false, and
// appends nothing, if the year is outside 0000..9999 (checkTime fails).
func appendTime(dst []byte, t time.Time) ([]byte, bool) {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return dst, false
	}
	hour, minute, sec := t.Clock()
	dst = append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	if ns := t.Nanosecond(); ns != 0 {
		// Each digit on its own, rather than a chain of divisions by 10.
		frac := [10]byte{'.',
			byte('0' + ns/1e8), byte('0' + ns/1e7%10), byte('0' + ns/1e6%10),
			byte('0' + ns/1e5%10), byte('0' + ns/1e4%10), byte('0' + ns/1e3%10),
			byte('0' + ns/100%10), byte('0' + ns/10%10), byte('0' + ns%10)}
		n := len(frac)
		for frac[n-1] == '0' {
			n--
		}
		dst = append(dst, frac[:n]...)
	}
	_, off := t.Zone()
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

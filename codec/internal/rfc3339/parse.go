package rfc3339

import "time"

// Parse parses an RFC 3339 timestamp as time.Parse(time.RFC3339, v) does,
// except that it follows RFC 3339 where time.Parse does not: it accepts a
// lowercase 't' and 'z' (uppercased first), and refuses a zone offset with
// hours over 23 or minutes over 59. It reports false if v is not RFC 3339.
// Callers try ParseCanonicalUTC first: it is much faster, for the form
// Append writes for a UTC time.
func Parse(v string) (time.Time, bool) {
	s := v
	if len(s) > 10 && (s[10] == 't' || s[len(s)-1] == 'z') {
		b := []byte(s)
		if b[10] == 't' {
			b[10] = 'T'
		}
		if b[len(b)-1] == 'z' {
			b[len(b)-1] = 'Z'
		}
		s = string(b)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || !offsetInRange(s) {
		return time.Time{}, false
	}
	return t, true
}

// offsetInRange reports whether the zone offset at the end of a timestamp
// that time.Parse accepted is "Z" or has hours 00..23 and minutes 00..59, as
// RFC 3339 requires (time.Parse accepts up to "+24:00" and "+23:60").
func offsetInRange(s string) bool {
	if s[len(s)-1] == 'Z' {
		return true
	}
	hh, mm := s[len(s)-5:len(s)-3], s[len(s)-2:]
	return hh <= "23" && mm <= "59"
}

// ParseCanonicalUTC parses s if it has the form
// "2006-01-02T15:04:05[.fraction]Z", with 1 to 9 fraction digits and every
// field in range (month 01..12, day within its month, leap years included,
// hour 00..23, minute and second 00..59). For such an s it returns exactly
// what time.Parse(time.RFC3339, s) returns, and ok true; for any other s it
// returns ok false, and the caller must use Parse.
func ParseCanonicalUTC(s string) (t time.Time, ok bool) {
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

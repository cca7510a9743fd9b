package rfc3339

import (
	"testing"
	"time"
)

func TestParseCanonicalUTC(t *testing.T) {
	tests := []struct {
		s      string
		wantOK bool // taken by the fast path
	}{
		{"2025-03-14T15:09:26.535897932Z", true},
		{"2025-03-14T15:09:26Z", true},
		{"2025-03-14T15:09:26.5Z", true},
		{"2025-03-14T15:09:26.000000000Z", true},
		{"0000-01-01T00:00:00Z", true},
		{"9999-12-31T23:59:59.999999999Z", true},
		{"2024-02-29T00:00:00Z", true},
		{"2000-02-29T00:00:00Z", true},
		{"1900-02-29T00:00:00Z", false},
		{"2023-02-29T00:00:00Z", false},
		{"2025-04-31T00:00:00Z", false},
		{"2025-00-10T00:00:00Z", false},
		{"2025-13-10T00:00:00Z", false},
		{"2025-01-00T00:00:00Z", false},
		{"2025-01-32T00:00:00Z", false},
		{"2025-01-01T24:00:00Z", false},
		{"2025-01-01T23:60:00Z", false},
		{"2025-01-01T23:59:60Z", false},
		{"2025-01-01T23:59:59.Z", false},
		{"2025-01-01T23:59:59.1234567890Z", false}, // general path: truncated
		{"2025-01-01T23:59:59,5Z", false},
		{"2025-01-01T23:59:59.5x5Z", false},
		{"2025-01-01t23:59:59Z", false},
		{"2025-01-01T23:59:59z", false},
		{"2025-01-01T23:59:59+00:00", false},
		{"2025-01-01 23:59:59Z", false},
		{"2025-1-01T23:59:59Z", false},
		{"+025-01-01T23:59:59Z", false},
		{"20a5-01-01T23:59:59Z", false},
		{"2025-01-01T2:59:590Z", false},
		{"2025-01-01T23:59:59", false},
		{"", false},
	}
	for _, tt := range tests {
		got, ok := ParseCanonicalUTC(tt.s)
		if ok != tt.wantOK {
			t.Errorf("ParseCanonicalUTC(%q) ok = %v, want %v", tt.s, ok, tt.wantOK)
		}
		checkFastTime(t, tt.s, got, ok)
	}
}

// checkFastTime checks that a timestamp the fast path took parses to the
// same time.Time (compared with ==, so also the same location) on the
// general path.
func checkFastTime(t *testing.T, s string, fast time.Time, ok bool) {
	t.Helper()
	if !ok {
		return
	}
	general, ok := Parse(s)
	if !ok {
		t.Fatalf("ParseCanonicalUTC(%q) accepts, the general path refuses", s)
	}
	if fast != general {
		t.Fatalf("ParseCanonicalUTC(%q) = %v, the general path gives %v", s, fast, general)
	}
}

// FuzzParseCanonicalUTC checks the fast path against the general one.
// Besides arbitrary strings it builds canonical ones from fields, which
// reach the fast path far more often.
func FuzzParseCanonicalUTC(f *testing.F) {
	f.Add("2025-03-14T15:09:26.535897932Z", int64(0), uint32(0), uint8(0))
	f.Add("", int64(1741964966), uint32(535897932), uint8(9))
	f.Add("", int64(951782400), uint32(1), uint8(3))
	f.Fuzz(func(t *testing.T, s string, sec int64, nsec uint32, digits uint8) {
		fast, ok := ParseCanonicalUTC(s)
		checkFastTime(t, s, fast, ok)

		tm := time.Unix(sec%253402300800, int64(nsec%1e9)).UTC()
		layout := "2006-01-02T15:04:05"
		if n := int(digits % 10); n > 0 {
			layout += "." + "000000000"[:n]
		}
		c := tm.Format(layout + "Z")
		fast, ok = ParseCanonicalUTC(c)
		if !ok && tm.Year() >= 0 {
			t.Fatalf("ParseCanonicalUTC(%q) refuses a canonical timestamp", c)
		}
		checkFastTime(t, c, fast, ok)
	})
}

func TestAppendTime(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -(23*3600 + 59*60)), time.FixedZone("X", 5*3600+30*60)}
	times := []time.Time{
		time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC),
		time.Date(2025, 3, 14, 15, 9, 26, 500000000, time.UTC),
		time.Date(2025, 3, 14, 15, 9, 26, 1, time.UTC),
		time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 10, time.UTC),
	}
	for _, tm := range times {
		for _, loc := range zones {
			checkAppendTime(t, tm.In(loc))
		}
	}
	// Edges of the years that can be written, in several zones.
	for _, tm := range []time.Time{
		time.Date(-1, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 2, 29, 12, 0, 0, 0, time.UTC), time.Date(0, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2399, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2400, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		for _, loc := range append(zones, time.FixedZone("", 30), time.FixedZone("", 86400), time.FixedZone("", -86400)) {
			checkAppendTime(t, tm.In(loc))
		}
	}
	// Every day of 400 years, around a cycle boundary.
	for d := time.Date(1999, 1, 1, 23, 0, 0, 0, time.UTC); d.Year() < 2401; d = d.AddDate(0, 0, 1) {
		checkAppendTime(t, d)
	}
}

// checkAppendTime compares Append with AppendFormat of AsWritten(tm), and
// its ok with the year of AsWritten(tm) (codec's checkTime refuses a time
// exactly when that year is outside 0000..9999).
func checkAppendTime(t *testing.T, tm time.Time) {
	t.Helper()
	got, ok := Append([]byte("x"), tm)
	if y := AsWritten(tm).Year(); ok != (y >= 0 && y <= 9999) {
		t.Fatalf("Append(%v) ok = %v, year as written: %d", tm, ok, y)
	}
	if !ok {
		if string(got) != "x" {
			t.Fatalf("Append(%v) = %q, false: appended", tm, got)
		}
		return
	}
	if want := AsWritten(tm).AppendFormat([]byte("x"), time.RFC3339Nano); string(got) != string(want) {
		t.Fatalf("Append(%v) = %q, AppendFormat gives %q", tm, got, want)
	}
}

// FuzzAppendTime compares Append with AppendFormat(RFC3339Nano) for
// arbitrary instants and zone offsets (AsWritten moves offsets RFC 3339
// cannot state to UTC).
func FuzzAppendTime(f *testing.F) {
	f.Add(int64(1741964966), uint32(535897932), int32(0))
	f.Add(int64(-62167219200), uint32(0), int32(-3600))
	f.Add(int64(253402300799), uint32(999999999), int32(86340))
	f.Add(int64(0), uint32(100), int32(-1172))
	f.Fuzz(func(t *testing.T, sec int64, nsec uint32, off int32) {
		checkAppendTime(t, time.Unix(sec, int64(nsec%1e9)).In(time.FixedZone("", int(off))))
	})
}

func TestParse(t *testing.T) {
	tests := []struct {
		s    string
		want time.Time // zero: refused
	}{
		{"2025-03-14T15:09:26.5Z", time.Date(2025, 3, 14, 15, 9, 26, 5e8, time.UTC)},
		{"2024-02-29t23:59:59.5z", time.Date(2024, 2, 29, 23, 59, 59, 5e8, time.UTC)},
		{"2024-01-01T00:00:00+23:59", time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", 23*3600+59*60))},
		{"2024-01-01T00:00:00+24:00", time.Time{}},
		{"2024-01-01T00:00:00-23:60", time.Time{}},
		{"2024-01-01T24:00:00Z", time.Time{}},
		{"yesterday", time.Time{}},
	}
	for _, tt := range tests {
		got, ok := Parse(tt.s)
		if ok != !tt.want.IsZero() || ok && !got.Equal(tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.s, got, ok, tt.want)
		}
	}
}

package streams

import "testing"

func TestAtLeast(t *testing.T) {
	tests := []struct {
		name, have, want string
		ok               bool
	}{
		{"equal", "2.12.0", VersionSchedules, true},
		{"newer patch", "2.12.3", VersionSchedules, true},
		{"newer minor", "2.15.3", VersionRecurringSchedules, true},
		{"older minor", "2.11.9", VersionSchedules, false},
		{"prerelease", "v2.14.0-beta.1", VersionRecurringSchedules, true},
		{"older major", "1.99.99", VersionMsgTTL, false},
		{"unparsable", "dev", VersionMsgTTL, false},
		{"empty", "", VersionMsgTTL, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AtLeast(tt.have, tt.want); got != tt.ok {
				t.Errorf("AtLeast(%q, %q) = %v, want %v", tt.have, tt.want, got, tt.ok)
			}
		})
	}
}

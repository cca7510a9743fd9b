package mesh

import "testing"

func TestRedactURLs(t *testing.T) {
	tests := map[string]string{
		"nats://alice:s3cret@host:4222":                 "nats://[redacted]@host:4222",
		"alice:s3cret@host:4222":                        "[redacted]@host:4222",
		"nats://token@a:1, tls://u:p@b:2":               "nats://[redacted]@a:1,tls://[redacted]@b:2",
		"nats://127.0.0.1:4222":                         "nats://127.0.0.1:4222",
		"nats://al@ice:pa@ss@host:4222,nats://host2:42": "nats://[redacted]@host:4222,nats://host2:42",
	}
	for in, want := range tests {
		if got := RedactURLs(in); got != want {
			t.Errorf("RedactURLs(%q) = %q, want %q", in, got, want)
		}
	}
}

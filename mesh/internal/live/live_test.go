package live

import (
	"slices"
	"testing"
)

func TestKeys(t *testing.T) {
	keys, err := Keys("ipc", "svc", "user:*", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []Key{{Filter: "ipc.svc.user.*", Queue: keys[0].Queue}, {Filter: "ipc.all.user.*"}}
	if keys[0].Queue == "" || !slices.Equal(keys, want) {
		t.Fatalf("Keys = %+v, want the targeted events through a queue group and the broadcasts without: %+v", keys, want)
	}
	once, _ := Keys("ipc", "svc", "user:*", true)
	if once[1].Queue != keys[0].Queue {
		t.Fatalf("with oncePerService the broadcasts go through the queue group: %+v", once)
	}
	if _, err := Keys("ipc", "svc", "bad pattern", false); err == nil {
		t.Fatal("an invalid pattern was accepted")
	}
}

func TestLimitsCheck(t *testing.T) {
	for l, ok := range map[Limits]bool{
		{}:                                true,
		{Msgs: -1, Bytes: 100, Set: true}: true,
		{Msgs: 0, Bytes: 100, Set: true}:  false,
		{Msgs: 10, Bytes: -2, Set: true}:  false,
	} {
		if err := l.Check(); (err == nil) != ok {
			t.Errorf("%+v: Check() = %v", l, err)
		}
	}
}

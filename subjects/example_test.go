package subjects_test

import (
	"errors"
	"fmt"

	"github.com/exprsn/ipcmesh/subjects"
)

func ExampleSubject() {
	broadcast, _ := subjects.Subject("ipc", subjects.Broadcast, "post:created")
	targeted, _ := subjects.Subject("ipc", "exprsn-herald", "notification:trigger")
	fmt.Println(broadcast)
	fmt.Println(targeted)
	// Output:
	// ipc.all.post.created
	// ipc.exprsn-herald.notification.trigger
}

func ExampleFilter() {
	users, _ := subjects.Filter("ipc", subjects.Broadcast, "user:*")
	content, _ := subjects.Filter("ipc", "exprsn-moderator", "content:>")
	fmt.Println(users)
	fmt.Println(content)
	// Output:
	// ipc.all.user.*
	// ipc.exprsn-moderator.content.>
}

func ExampleParse() {
	a, _ := subjects.Parse("ipc.exprsn-herald.notification.trigger")
	fmt.Println(a.Namespace, a.Target, a.Event, a.IsBroadcast())
	// Output: ipc exprsn-herald notification:trigger false
}

func ExampleValidateService() {
	err := subjects.ValidateService("all")
	fmt.Println(err)
	fmt.Println(errors.Is(err, subjects.ErrReserved))
	// Output:
	// subjects: invalid service name "all": reserved for the mesh ("all", "any" and names starting with '_')
	// true
}

func ExampleDuplicateKey() {
	// The same id from two services gives two keys, so the event stream
	// stores both events.
	fmt.Println(subjects.DuplicateKey("orders", "42"))
	fmt.Println(subjects.DuplicateKey("billing", "42"))
	// Output:
	// 8izUpzBC4Ty9FgEuoL_CYQ
	// p-pLlz9sETLvHpZSceoNpQ
}

package meshotel

import "github.com/exprsn/ipcmesh/codec"

// carrier lets a propagator read and write the extension attributes of an
// event.
type carrier struct{ ev *codec.Event }

// Get returns the value of the extension key, or "".
func (c carrier) Get(key string) string {
	v, _ := c.ev.Extension(key)
	return v
}

// Set sets the extension key to value. A key that cannot be an extension
// name is dropped: writing it would make the event invalid and fail the
// send.
func (c carrier) Set(key, value string) {
	if codec.ValidExtensionName(key) {
		c.ev.SetExtension(key, value)
	}
}

// Keys returns the names of the event's extensions.
func (c carrier) Keys() []string {
	keys := make([]string, len(c.ev.Extensions))
	for i, x := range c.ev.Extensions {
		keys[i] = x.Name
	}
	return keys
}

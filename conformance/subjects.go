package conformance

import "fmt"

// The operations of subject vectors.
const (
	// OpEvent maps Namespace, Target (a service or "all") and Event to the
	// Subject an event travels on.
	OpEvent = "event"
	// OpRequest maps Namespace, Target (a service) and Event to the
	// Subject a request travels on.
	OpRequest = "request"
	// OpListen maps Namespace, Service and a pattern (Event) to what a
	// listener subscribes to (Listen).
	OpListen = "listen"
	// OpParse maps a Subject back to Namespace, Target and Event.
	OpParse = "parse"
)

// The error classes of subject vectors.
const (
	// InvalidName: a name outside the safe alphabet, empty, too long, or
	// with too many segments; also a subject no valid address produces.
	InvalidName = "invalid_name"
	// Reserved: a reserved service name or namespace ("all" or "any" as a
	// service, or a name starting with '_'). Reserved names are invalid
	// names too.
	Reserved = "reserved"
)

// SubjectVector is one subject vector. Which fields are input and which are
// output depends on Op (see OpEvent, OpRequest, OpListen, OpParse); when
// Error is set, the input must be refused with that class and the output
// fields are empty.
type SubjectVector struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Op          string  `json:"op"`
	Namespace   string  `json:"namespace,omitempty"`
	Target      string  `json:"target,omitempty"`
	Service     string  `json:"service,omitempty"`
	Event       string  `json:"event,omitempty"`
	Subject     string  `json:"subject,omitempty"`
	Listen      *Listen `json:"listen,omitempty"`
	Error       string  `json:"error,omitempty"`
}

// Listen is what a service listening to a pattern subscribes to.
type Listen struct {
	// Targeted is the filter of the events sent to the service.
	Targeted string `json:"targeted"`
	// Broadcast is the filter of the broadcasts.
	Broadcast string `json:"broadcast"`
	// Request is the filter of the requests to the service.
	Request string `json:"request"`
	// QueueGroup is the queue group of the targeted events, of the
	// requests, and of the broadcasts when once per service.
	QueueGroup string `json:"queue_group"`
}

// Subjects returns the subject vectors of SubjectFile, checked for the
// shape SubjectVector documents.
func Subjects() ([]SubjectVector, error) {
	vs, err := load[SubjectVector](Files, SubjectFile)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, v := range vs {
		if err := v.check(); err != nil {
			return nil, fmt.Errorf("conformance: %s: vector %q: %w", SubjectFile, v.Name, err)
		}
		if seen[v.Name] {
			return nil, fmt.Errorf("conformance: %s: vector name %q used twice", SubjectFile, v.Name)
		}
		seen[v.Name] = true
	}
	return vs, nil
}

func (v *SubjectVector) check() error {
	if v.Name == "" || v.Description == "" {
		return fmt.Errorf("name and description are required")
	}
	switch v.Error {
	case "", InvalidName, Reserved:
	default:
		return fmt.Errorf("unknown error class %q", v.Error)
	}
	ok := v.Error != ""
	switch v.Op {
	case OpEvent, OpRequest:
		ok = ok || v.Subject != ""
	case OpListen:
		ok = ok || v.Listen != nil
	case OpParse:
		ok = v.Subject != "" && (ok || v.Namespace != "")
	default:
		return fmt.Errorf("unknown op %q", v.Op)
	}
	if !ok {
		return fmt.Errorf("op %s: want its result or an error", v.Op)
	}
	return nil
}

package subjects

import "strings"

// Address is the mesh meaning of a subject: which namespace, which target
// (a service name or Broadcast) and which event.
type Address struct {
	Namespace string
	Target    string
	Event     string
}

// IsBroadcast reports whether the address is a broadcast.
func (a Address) IsBroadcast() bool { return a.Target == Broadcast }

// Subject returns the subject of a validated address; see [Subject].
func (a Address) Subject() (string, error) { return Subject(a.Namespace, a.Target, a.Event) }

// Subject returns the NATS subject on which event travels to target (a
// service name or Broadcast) in namespace ns. Each name is validated; the
// error is a *NameError naming the bad part.
func Subject(ns, target, event string) (string, error) {
	if err := ValidateNamespace(ns); err != nil {
		return "", err
	}
	if err := validateTarget(target); err != nil {
		return "", err
	}
	if err := ValidateEvent(event); err != nil {
		return "", err
	}
	return join(ns, target, event), nil
}

// Filter returns the NATS subject filter that matches pattern sent to target
// in namespace ns. The pattern may use "*" and a last ">" segment (see the
// package doc); target may be a service name, Broadcast, or "*" for any
// target.
func Filter(ns, target, pattern string) (string, error) {
	if err := ValidateNamespace(ns); err != nil {
		return "", err
	}
	if target != "*" {
		if err := validateTarget(target); err != nil {
			return "", err
		}
	}
	if err := ValidatePattern(pattern); err != nil {
		return "", err
	}
	return join(ns, target, pattern), nil
}

func join(ns, target, event string) string {
	var b strings.Builder
	b.Grow(len(ns) + len(target) + len(event) + 2)
	b.WriteString(ns)
	b.WriteByte('.')
	b.WriteString(target)
	b.WriteByte('.')
	for i := 0; i < len(event); i++ {
		if c := event[i]; c == ':' {
			b.WriteByte('.')
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Parse returns the address of a mesh subject: the first token is the
// namespace, the second the target, and the remaining tokens the event's
// segments. It is the inverse of Subject and RequestSubject (whose
// RequestPrefix it drops; see IsRequest) and refuses subjects they would not
// produce (wildcards included).
func Parse(subject string) (Address, error) {
	subject = strings.TrimPrefix(subject, RequestPrefix+".")
	ns, rest, ok := strings.Cut(subject, ".")
	if !ok {
		return Address{}, &NameError{Kind: KindSubject, Name: subject, Reason: "want <namespace>.<target>.<event>"}
	}
	target, event, ok := strings.Cut(rest, ".")
	if !ok {
		return Address{}, &NameError{Kind: KindSubject, Name: subject, Reason: "want <namespace>.<target>.<event>"}
	}
	if strings.Contains(event, ":") {
		return Address{}, &NameError{Kind: KindSubject, Name: subject, Reason: "':' cannot appear in a subject token"}
	}
	a := Address{Namespace: ns, Target: target, Event: strings.ReplaceAll(event, ".", ":")}
	if err := ValidateNamespace(a.Namespace); err != nil {
		return Address{}, err
	}
	if err := validateTarget(a.Target); err != nil {
		return Address{}, err
	}
	if err := ValidateEvent(a.Event); err != nil {
		return Address{}, err
	}
	return a, nil
}

// RequestPrefix is the first token of request subjects. Requests travel
// outside the namespace's own subjects so that a JetStream stream keeping
// the namespace's events neither stores requests nor answers them with its
// publish acknowledgement.
const RequestPrefix = "_rpc"

// RequestSubject returns the subject on which a request for event travels
// to service in namespace ns: "_rpc.<ns>.<service>.<event tokens>". Each
// name is validated as for Subject; the target cannot be Broadcast.
func RequestSubject(ns, service, event string) (string, error) {
	if err := ValidateService(service); err != nil {
		return "", err
	}
	s, err := Subject(ns, service, event)
	if err != nil {
		return "", err
	}
	return RequestPrefix + "." + s, nil
}

// RequestFilter returns the subject filter on which service receives the
// requests matching pattern in namespace ns.
func RequestFilter(ns, service, pattern string) (string, error) {
	if err := ValidateService(service); err != nil {
		return "", err
	}
	s, err := Filter(ns, service, pattern)
	if err != nil {
		return "", err
	}
	return RequestPrefix + "." + s, nil
}

// IsRequest reports whether subject is a request subject.
func IsRequest(subject string) bool {
	return strings.HasPrefix(subject, RequestPrefix+".")
}

// QueueGroup returns the NATS queue group through which the instances of
// service share the events that match pattern: "<service>:<pattern>". Each
// pattern has its own group so that overlapping patterns of one service
// each receive the event once; a client in another language joins the same
// group to share the load with Go instances.
func QueueGroup(service, pattern string) string {
	return service + ":" + pattern
}

package subjects

import (
	"errors"
	"strconv"
	"strings"

	"github.com/exprsn/ipcmesh/internal/headers"
)

// DefaultNamespace is the namespace used when none is given.
const DefaultNamespace = "ipc"

// Broadcast is the target of an event sent to every service.
const Broadcast = "all"

// Length limits, in bytes.
const (
	// MaxNameLen bounds a namespace or service name.
	MaxNameLen = 64
	// MaxEventLen bounds a whole event name or pattern, separators included.
	MaxEventLen = 256
	// MaxSegments bounds the number of ':'-separated segments of an event.
	MaxSegments = 16
)

// Errors matched with errors.Is; the concrete error is a *NameError.
var (
	// ErrInvalidName reports a name that cannot be used on the wire.
	ErrInvalidName = errors.New("invalid name")
	// ErrReserved reports a service name reserved for the mesh itself.
	// Errors matching ErrReserved also match ErrInvalidName.
	ErrReserved = errors.New("reserved name")
)

// Kind says which part of an address a name is.
type Kind string

// The kinds of names a NameError can be about.
const (
	KindNamespace Kind = "namespace"
	KindService   Kind = "service name"
	KindEvent     Kind = "event name"
	KindPattern   Kind = "event pattern"
	KindSubject   Kind = "subject"
)

// NameError reports a refused name: which kind of name, the name itself, and
// why.
type NameError struct {
	Kind   Kind
	Name   string
	Reason string
	// reserved is set when the name is refused only because it is reserved.
	reserved bool
}

// Error names the kind of name, the name (its first 256 bytes: a name may
// come from a sender, and Name keeps it whole) and the reason.
func (e *NameError) Error() string {
	return "subjects: invalid " + string(e.Kind) + " " + strconv.Quote(headers.Truncate(e.Name, maxQuotedName)) + ": " + e.Reason
}

// maxQuotedName bounds the name a NameError's message quotes.
const maxQuotedName = 256

// Is makes every NameError match ErrInvalidName, and reserved ones also
// ErrReserved.
func (e *NameError) Is(target error) bool {
	return target == ErrInvalidName || (e.reserved && target == ErrReserved)
}

func isSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// checkToken reports why s is not a safe token, or "" if it is.
func checkToken(s string) string {
	if s == "" {
		return "empty"
	}
	for i := 0; i < len(s); i++ {
		if !isSafe(s[i]) {
			return "character " + strconv.QuoteRune(rune(s[i])) + " at offset " + strconv.Itoa(i) +
				" is not allowed (use letters, digits, '-' and '_')"
		}
	}
	return ""
}

// ValidateNamespace returns a *NameError if ns cannot be used as a
// namespace. Namespaces starting with '_' are reserved (requests travel
// under RequestPrefix).
func ValidateNamespace(ns string) error {
	if len(ns) > MaxNameLen {
		return &NameError{Kind: KindNamespace, Name: ns, Reason: "longer than " + strconv.Itoa(MaxNameLen) + " bytes"}
	}
	if r := checkToken(ns); r != "" {
		return &NameError{Kind: KindNamespace, Name: ns, Reason: r}
	}
	if strings.HasPrefix(ns, "_") {
		return &NameError{Kind: KindNamespace, Name: ns, Reason: "reserved for the mesh (names starting with '_')", reserved: true}
	}
	return nil
}

// IsReserved reports whether name is reserved for the mesh: "all", "any",
// or any name starting with '_'.
func IsReserved(name string) bool {
	return name == Broadcast || name == "any" || strings.HasPrefix(name, "_")
}

// ValidateService returns a *NameError if name cannot be a service name,
// including when it is reserved (see IsReserved).
func ValidateService(name string) error {
	if len(name) > MaxNameLen {
		return &NameError{Kind: KindService, Name: name, Reason: "longer than " + strconv.Itoa(MaxNameLen) + " bytes"}
	}
	if r := checkToken(name); r != "" {
		return &NameError{Kind: KindService, Name: name, Reason: r}
	}
	if IsReserved(name) {
		return &NameError{Kind: KindService, Name: name, Reason: "reserved for the mesh (\"all\", \"any\" and names starting with '_')", reserved: true}
	}
	return nil
}

// validateTarget accepts a service name or Broadcast.
func validateTarget(target string) error {
	if target == Broadcast {
		return nil
	}
	return ValidateService(target)
}

// ValidateEvent returns a *NameError if event is not a valid event name: one
// to MaxSegments ':'-separated segments of the safe alphabet.
func ValidateEvent(event string) error {
	return checkEvent(event, KindEvent)
}

// ValidatePattern returns a *NameError if pattern is not a valid event
// pattern: an event name whose segments may also be "*", and whose last
// segment may be ">".
func ValidatePattern(pattern string) error {
	return checkEvent(pattern, KindPattern)
}

func checkEvent(name string, kind Kind) error {
	if len(name) > MaxEventLen {
		return &NameError{Kind: kind, Name: name, Reason: "longer than " + strconv.Itoa(MaxEventLen) + " bytes"}
	}
	if name == "" {
		return &NameError{Kind: kind, Name: name, Reason: "empty"}
	}
	segments := 0
	for rest := name; ; {
		seg, tail, more := strings.Cut(rest, ":")
		segments++
		if segments > MaxSegments {
			return &NameError{Kind: kind, Name: name, Reason: "more than " + strconv.Itoa(MaxSegments) + " segments"}
		}
		switch {
		case kind == KindPattern && seg == "*":
		case kind == KindPattern && seg == ">":
			if more {
				return &NameError{Kind: kind, Name: name, Reason: "'>' must be the last segment"}
			}
		default:
			if r := checkToken(seg); r != "" {
				return &NameError{Kind: kind, Name: name, Reason: "segment " + strconv.Itoa(segments) + " " + strconv.Quote(seg) + ": " + r}
			}
		}
		if !more {
			return nil
		}
		rest = tail
	}
}

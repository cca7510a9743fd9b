package subjects

import "strings"

// Scheduled events (see docs/wire-protocol.md#scheduled-events). A
// scheduled event is a schedule message in the namespace's schedule stream
// on "_sched.<ns>.at.<key>", where key is the DuplicateKey of the event's
// source and id. When it fires, the server stores the event on
// "_sched.<ns>.fire.<target>.<event tokens>" in the same stream, which
// republishes it to live subscribers on "<ns>.<target>.<event tokens>" and
// which the event stream sources onto that same subject.

// SchedulePrefix is the first token of the schedule stream's subjects.
const SchedulePrefix = "_sched"

// ScheduleStream is the name of the stream that keeps namespace ns's
// schedules and their firings: "MESH_<ns>_SCHED".
func ScheduleStream(ns string) string { return "MESH_" + ns + "_SCHED" }

// ScheduleSubject is the subject of the schedule message with key key
// (DuplicateKey(source, id)): "_sched.<ns>.at.<key>".
func ScheduleSubject(ns, key string) string { return SchedulePrefix + "." + ns + ".at." + key }

// ScheduleFilter is the subject filter of namespace ns's schedule
// messages: "_sched.<ns>.at.>".
func ScheduleFilter(ns string) string { return SchedulePrefix + "." + ns + ".at.>" }

// ScheduleKey returns the key of a schedule subject of namespace ns, or ""
// when subject is not one: the key is a DuplicateKey, 22 base64url
// characters.
func ScheduleKey(ns, subject string) string {
	key, ok := strings.CutPrefix(subject, SchedulePrefix+"."+ns+".at.")
	if !ok || !isDuplicateKey(key) {
		return ""
	}
	return key
}

// isDuplicateKey reports whether key has the form of a DuplicateKey.
func isDuplicateKey(key string) bool {
	if len(key) != 22 {
		return false
	}
	for i := range len(key) {
		if !isSafe(key[i]) {
			return false
		}
	}
	return true
}

// FireSubject is where a schedule for the event subject eventSubject
// ("<ns>.<target>.<event tokens>") of namespace ns fires:
// "_sched.<ns>.fire.<target>.<event tokens>".
func FireSubject(ns, eventSubject string) string {
	return SchedulePrefix + "." + ns + ".fire." + strings.TrimPrefix(eventSubject, ns+".")
}

// FireFilter is the subject filter of namespace ns's firings:
// "_sched.<ns>.fire.>".
func FireFilter(ns string) string { return SchedulePrefix + "." + ns + ".fire.>" }

// EventSubjectOfFire is the event subject a firing subject of namespace ns
// stands for, or "" when fire is not one.
func EventSubjectOfFire(ns, fire string) string {
	rest, ok := strings.CutPrefix(fire, SchedulePrefix+"."+ns+".fire.")
	if !ok {
		return ""
	}
	return ns + "." + rest
}

// ScheduledTimeExtension is the CloudEvents extension of a fired scheduled
// event that holds the time it was scheduled for (RFC 3339, UTC). Its id
// is then "<id of the emit>@<that time>".
const ScheduledTimeExtension = "scheduledtime"

// HeaderSchedule is set on a recurring schedule message, and so on each of
// its firings, to the schedule as the emitter gave it ("@every 10s", or a
// cron expression), so that a receiver can tell the firing's time.
const HeaderSchedule = "Mesh-Schedule"

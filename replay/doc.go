// Package replay reads a namespace's event stream by time, sequence and
// filter, and re-delivers what it reads to one service or writes it out as
// JSON lines. It is the library behind meshctl replay.
//
// # Reading
//
// [Open] returns a [Reader] over the events of a [Query]: a range by stream
// sequence, time or both, and filters on the event pattern, the target and
// the source. It reads through an ordered consumer, which it deletes on
// Close: it leaves nothing behind on the server. Events that earlier
// replays re-delivered are skipped unless Query.IncludeReplays is set.
//
// # Re-delivering
//
// [Replay] sends each matching event again to one service, and only to it:
// on "<ns>.<service>.<event>", never as a broadcast. The body is unchanged,
// so the event keeps its CloudEvents id and time; the Mesh-Replay header
// carries the original's stream sequence and marks it as replayed
// (mesh.Event.Replayed), and a fresh Nats-Msg-Id keeps the stream's
// duplicate window from swallowing it. An optional rate limit paces it, a
// callback reports progress, and cancelling the context stops it.
//
// # Exporting
//
// [Export] writes each matching event as one structured-mode CloudEvent JSON
// object per line.
//
// # Failures
//
// One bad stored event never stops a run: an event that cannot be encoded
// (Export) or re-delivered as it is (Replay: its subject cannot be built,
// or with the replay headers it is over the server's max_payload) is
// counted in Progress.Failed and skipped, however many such events there
// are. A failure of the destination stops the run: Export stops at the
// first error writing to its writer, Replay after 10 publish errors in a row
// that are not about one event (the server is gone, say). Either way the
// run returns the progress so far, and an error naming the last failed
// event; ids in errors are quoted and cut to 64 bytes, as they come from
// senders.
package replay

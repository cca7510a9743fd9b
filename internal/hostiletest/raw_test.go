package hostiletest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// rawConn is a NATS client that writes the protocol by hand, so that a test
// can send what nats.go refuses to or alters: header keys outside ADR-4
// ("Bad Key", "a/b"), header blocks nats.go cannot parse, inline status
// lines, values with bare CR, payloads over max_payload. It reads what the
// server sends back: replies to its own inbox, PONGs and -ERR lines.
//
// Its methods are safe for concurrent use.
type rawConn struct {
	conn  net.Conn
	inbox string // short, so that a long subject still fits the control line

	wmu     sync.Mutex // serializes writes
	flushMu sync.Mutex // one PING in flight at a time
	pongs   chan struct{}
	errs    chan string   // -ERR lines
	done    chan struct{} // closed when the read loop ends
	next    atomic.Uint64

	mu      sync.Mutex
	waiting map[string]chan rawMsg // reply subject -> its waiter
	readErr error
}

// rawMsg is a message the server delivered to a rawConn.
type rawMsg struct {
	Subject, Reply string
	RawHeader      []byte
	Header         nats.Header // RawHeader decoded by nats.go; nil if absent or undecodable
	Data           []byte
}

// rawWait bounds each exchange with the server.
const rawWait = 5 * time.Second

// dialRaw connects to the server at serverURL, sends CONNECT with headers
// and no-responders enabled, and subscribes to its inbox. The connection is
// closed in t.Cleanup.
func dialRaw(t testing.TB, serverURL string) *rawConn {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("raw: parse %s: %v", serverURL, err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, rawWait)
	if err != nil {
		t.Fatalf("raw: dial %s: %v", u.Host, err)
	}
	r := &rawConn{
		conn:    conn,
		inbox:   "_INBOX.h" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36),
		pongs:   make(chan struct{}, 16),
		errs:    make(chan string, 16),
		done:    make(chan struct{}),
		waiting: map[string]chan rawMsg{},
	}
	t.Cleanup(r.close)
	br := bufio.NewReaderSize(conn, 64<<10)
	_ = conn.SetReadDeadline(time.Now().Add(rawWait))
	info, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(info, "INFO ") {
		t.Fatalf("raw: want INFO from the server, got %q (%v)", info, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	go r.readLoop(br)
	connect := `CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"name":"hostile"}` + "\r\n"
	if err := r.write([]byte(connect + "SUB " + r.inbox + ".* 1\r\n")); err != nil {
		t.Fatalf("raw: connect: %v", err)
	}
	if err := r.flush(); err != nil {
		t.Fatalf("raw: connect: %v", err)
	}
	return r
}

func (r *rawConn) close() { _ = r.conn.Close() }

func (r *rawConn) write(b []byte) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	_ = r.conn.SetWriteDeadline(time.Now().Add(rawWait))
	_, err := r.conn.Write(b)
	return err
}

// publish writes one PUB (hdr nil) or HPUB. hdr is the whole header block,
// "NATS/1.0" line and blank line included (see headerBlock).
func (r *rawConn) publish(subject, reply string, hdr, body []byte) error {
	var b bytes.Buffer
	b.Grow(len(subject) + len(reply) + len(hdr) + len(body) + 64)
	if hdr == nil {
		b.WriteString("PUB " + subject + " ")
		if reply != "" {
			b.WriteString(reply + " ")
		}
		b.WriteString(strconv.Itoa(len(body)) + "\r\n")
	} else {
		b.WriteString("HPUB " + subject + " ")
		if reply != "" {
			b.WriteString(reply + " ")
		}
		b.WriteString(strconv.Itoa(len(hdr)) + " " + strconv.Itoa(len(hdr)+len(body)) + "\r\n")
		b.Write(hdr)
	}
	b.Write(body)
	b.WriteString("\r\n")
	return r.write(b.Bytes())
}

// flush sends PING and waits for the PONG: the server has then processed
// everything written before. It returns the server's -ERR if one came
// first, or the connection's end.
func (r *rawConn) flush() error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	if err := r.write([]byte("PING\r\n")); err != nil {
		return r.serverError(err)
	}
	deadline := time.NewTimer(rawWait)
	defer deadline.Stop()
	select {
	case <-r.pongs:
		select {
		case e := <-r.errs:
			return errors.New(e)
		default:
			return nil
		}
	case e := <-r.errs:
		return errors.New(e)
	case <-r.done:
		return r.serverError(nil)
	case <-deadline.C:
		return errors.New("raw: no PONG within " + rawWait.String())
	}
}

// serverError prefers the server's -ERR to err, which is often only what
// the closed connection left.
func (r *rawConn) serverError(err error) error {
	select {
	case e := <-r.errs:
		return errors.New(e)
	case <-time.After(time.Second):
	}
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Errorf("raw: connection closed: %v", r.readErr)
}

// request publishes with a reply subject of its own and waits for the one
// answer. hdr nil sends PUB.
func (r *rawConn) request(subject string, hdr, body []byte) (rawMsg, error) {
	reply := r.inbox + "." + strconv.FormatUint(r.next.Add(1), 36)
	ch := make(chan rawMsg, 1)
	r.mu.Lock()
	r.waiting[reply] = ch
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waiting, reply)
		r.mu.Unlock()
	}()
	if err := r.publish(subject, reply, hdr, body); err != nil {
		return rawMsg{}, r.serverError(err)
	}
	deadline := time.NewTimer(rawWait)
	defer deadline.Stop()
	select {
	case m := <-ch:
		return m, nil
	case e := <-r.errs:
		return rawMsg{}, errors.New(e)
	case <-r.done:
		return rawMsg{}, r.serverError(nil)
	case <-deadline.C:
		return rawMsg{}, fmt.Errorf("raw: no answer on %s within %s", reply, rawWait)
	}
}

func (r *rawConn) readLoop(br *bufio.Reader) {
	defer close(r.done)
	fail := func(err error) {
		r.mu.Lock()
		r.readErr = err
		r.mu.Unlock()
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			fail(err)
			return
		}
		line = strings.TrimRight(line, "\r\n")
		op, args, _ := strings.Cut(line, " ")
		switch strings.ToUpper(op) {
		case "PING":
			_ = r.write([]byte("PONG\r\n"))
		case "PONG":
			select {
			case r.pongs <- struct{}{}:
			default:
			}
		case "-ERR":
			select {
			case r.errs <- line:
			default:
			}
		case "MSG", "HMSG":
			m, err := readMsg(br, strings.ToUpper(op) == "HMSG", strings.Fields(args))
			if err != nil {
				fail(err)
				return
			}
			r.mu.Lock()
			ch := r.waiting[m.Subject]
			r.mu.Unlock()
			if ch != nil {
				select {
				case ch <- m:
				default:
				}
			}
		}
	}
}

// readMsg reads the payload of a MSG (subject sid [reply] size) or HMSG
// (subject sid [reply] hdr_size total_size) whose arguments are args.
func readMsg(br *bufio.Reader, hasHeader bool, args []string) (rawMsg, error) {
	var m rawMsg
	sizes := 1
	if hasHeader {
		sizes = 2
	}
	if len(args) != 2+sizes && len(args) != 3+sizes {
		return m, fmt.Errorf("raw: bad message line arguments %q", args)
	}
	m.Subject = args[0]
	if len(args) == 3+sizes {
		m.Reply = args[2]
	}
	total, err := strconv.Atoi(args[len(args)-1])
	if err != nil {
		return m, err
	}
	hdrLen := 0
	if hasHeader {
		if hdrLen, err = strconv.Atoi(args[len(args)-2]); err != nil {
			return m, err
		}
	}
	buf := make([]byte, total+2)
	if _, err := io.ReadFull(br, buf); err != nil {
		return m, err
	}
	if hdrLen > 0 {
		m.RawHeader = buf[:hdrLen]
		m.Header, _ = nats.DecodeHeadersMsg(m.RawHeader)
	}
	m.Data = buf[hdrLen:total]
	return m, nil
}

// headerBlock returns a header block as it travels: the "NATS/1.0" line,
// each line as given (a "Key: value" line, or anything), and the blank line
// that ends the block. Nothing is checked or escaped.
func headerBlock(lines ...string) []byte {
	return statusBlock("", lines...)
}

// statusBlock is headerBlock with an inline status after "NATS/1.0", as
// the server writes in its own status messages ("100 Idle Heartbeat").
func statusBlock(status string, lines ...string) []byte {
	var b bytes.Buffer
	b.WriteString("NATS/1.0")
	if status != "" {
		b.WriteString(" " + status)
	}
	b.WriteString("\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// pubAck is the event stream's answer to a publish with a reply subject.
type pubAck struct {
	Stream string `json:"stream"`
	Seq    uint64 `json:"seq"`
	Error  *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
}

// parsePubAck returns the stream sequence in a publish acknowledgement, or
// the stream's refusal as an error.
func parsePubAck(h nats.Header, data []byte) (uint64, error) {
	if st := h.Get("Status"); st != "" {
		return 0, fmt.Errorf("stream answered with status %s %s", st, h.Get("Description"))
	}
	var ack pubAck
	if err := json.Unmarshal(data, &ack); err != nil {
		return 0, fmt.Errorf("not a publish acknowledgement: %q: %w", truncated(data), err)
	}
	if ack.Error != nil {
		return 0, fmt.Errorf("the stream refused the event: %d %d %s", ack.Error.Code, ack.Error.ErrCode, ack.Error.Description)
	}
	if ack.Seq == 0 {
		return 0, fmt.Errorf("publish acknowledgement without a sequence: %q", truncated(data))
	}
	return ack.Seq, nil
}

// truncated shortens b for a failure message.
func truncated[T string | []byte](b T) string {
	const max = 120
	if len(b) > max {
		return string(b[:max]) + "...(" + strconv.Itoa(len(b)) + " bytes)"
	}
	return string(b)
}

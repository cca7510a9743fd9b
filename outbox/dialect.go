package outbox

import (
	"database/sql"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// Dialect is the SQL dialect of the outbox's database.
type Dialect int

const (
	// Detect finds the dialect from the driver of the *sql.DB given to
	// New: modernc.org/sqlite and github.com/mattn/go-sqlite3 are SQLite,
	// github.com/jackc/pgx/v5/stdlib and github.com/lib/pq are PostgreSQL.
	Detect Dialect = iota
	// SQLite is SQLite 3.24 or later (upserts).
	SQLite
	// PostgreSQL is PostgreSQL 10 or later (identity columns); the
	// tests run 15.
	PostgreSQL
)

// String returns "sqlite", "postgresql" or "detect".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgresql"
	}
	return "detect"
}

// driverDialects maps a database/sql driver's package to its dialect.
var driverDialects = map[string]Dialect{
	"modernc.org/sqlite":             SQLite,
	"github.com/mattn/go-sqlite3":    SQLite,
	"github.com/jackc/pgx/v5/stdlib": PostgreSQL,
	"github.com/lib/pq":              PostgreSQL,
}

// detect returns the dialect of db's driver.
func detect(db *sql.DB) (Dialect, error) {
	t := reflect.TypeOf(db.Driver())
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if d, ok := driverDialects[t.PkgPath()]; ok {
		return d, nil
	}
	return Detect, fmt.Errorf("%w: driver %s is not one the outbox knows; set Config.Dialect", ErrDialect, t.PkgPath())
}

// SQLiteDSN returns the data source name with which to open the SQLite
// database file at path with modernc.org/sqlite (driver "sqlite") for the
// outbox, since the relay writes the same file as the application: WAL
// (readers do not wait for the writer), a busy timeout of 10 s (a writer
// waits for the other instead of failing with SQLITE_BUSY), and immediate
// transactions (BEGIN takes the write lock, so that two transactions
// never deadlock upgrading their read locks). The path's '%', '?' and '#'
// are escaped; everything else is as the application gives it.
func SQLiteDSN(path string) string {
	return "file:" + sqlitePath.Replace(path) + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate"
}

// sqlitePath escapes what an SQLite URI filename cannot hold as is.
var sqlitePath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// tableName is what Config.Table may be: a lowercase SQL identifier, short
// enough for PostgreSQL's 63 bytes once the lease table's suffix is added.
var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,56}$`)

// MaxTableLen is the longest Config.Table allowed.
const MaxTableLen = 57

// validTable checks a table name, which goes into SQL as is.
func validTable(name string) error {
	if !tableName.MatchString(name) {
		return fmt.Errorf("%w %q: use lowercase letters, digits and '_', not starting with a digit, at most %d bytes", ErrTableName, name, MaxTableLen)
	}
	return nil
}

// queries are the statements of one table in one dialect, with their
// placeholders in the dialect's form.
type queries struct {
	create    []string // run in one transaction, after ddlLock if set
	ddlLock   string   // serializes concurrent creations (PostgreSQL)
	insert    string
	batch     string
	delete    string
	pending   string
	lease     string
	holder    string
	release   string
	listening bool // PostgreSQL: the relay LISTENs on the table's name
}

// newQueries returns the statements of table in dialect d.
func newQueries(d Dialect, table string) queries {
	q := queries{
		batch:   "SELECT id, event_id, event, subject, header, data, created_us FROM " + table + " WHERE source = ? ORDER BY id LIMIT ?",
		delete:  "DELETE FROM " + table + " WHERE source = ? AND id <= ?",
		pending: "SELECT count(*), coalesce(min(id), 0), coalesce(min(created_us), 0) FROM " + table + " WHERE source = ?",
		// Taken when free, held by this relay, expired, or expiring
		// further ahead than a live relay writes (see relay.hold).
		lease: "INSERT INTO " + table + "_lease (source, holder, expires_us) VALUES (?, ?, ?) " +
			"ON CONFLICT (source) DO UPDATE SET holder = excluded.holder, expires_us = excluded.expires_us " +
			"WHERE " + table + "_lease.holder = excluded.holder OR " + table + "_lease.expires_us < ? OR " + table + "_lease.expires_us > ?",
		holder:  "SELECT holder, expires_us FROM " + table + "_lease WHERE source = ?",
		release: "DELETE FROM " + table + "_lease WHERE source = ? AND holder = ?",
	}
	columns := "(source, event_id, event, subject, header, data, created_us)"
	lease := "CREATE TABLE IF NOT EXISTS " + table + "_lease (source TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_us BIGINT NOT NULL)"
	index := "CREATE INDEX IF NOT EXISTS " + table + "_source ON " + table + " (source, id)"
	switch d {
	case SQLite:
		// AUTOINCREMENT: ids are never reused, even once the table is
		// empty, so an id the relay has published stays unique.
		q.create = []string{"CREATE TABLE IF NOT EXISTS " + table + " (id INTEGER PRIMARY KEY AUTOINCREMENT, " +
			"source TEXT NOT NULL, event_id TEXT NOT NULL, event TEXT NOT NULL, subject TEXT NOT NULL, " +
			"header TEXT NOT NULL, data BLOB NOT NULL, created_us INTEGER NOT NULL)", index, lease}
		q.insert = "INSERT INTO " + table + " " + columns + " VALUES (?, ?, ?, ?, ?, ?, ?)"
	case PostgreSQL:
		q.create = []string{"CREATE TABLE IF NOT EXISTS " + table + " (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, " +
			"source TEXT NOT NULL, event_id TEXT NOT NULL, event TEXT NOT NULL, subject TEXT NOT NULL, " +
			"header TEXT NOT NULL, data BYTEA NOT NULL, created_us BIGINT NOT NULL)", index, lease}
		// One round trip: take the source's lock (held until the
		// transaction ends, so that ids follow commit order per source),
		// insert, and notify the relays, which PostgreSQL delivers at commit.
		q.insert = "WITH lock AS (SELECT pg_advisory_xact_lock(hashtext(?::text), hashtext(?::text))), " +
			"ins AS (INSERT INTO " + table + " " + columns +
			" SELECT ?::text, ?::text, ?::text, ?::text, ?::text, ?::bytea, ?::bigint FROM lock RETURNING id) " +
			"SELECT pg_notify(?::text, ?::text) FROM ins"
		q.ddlLock = "SELECT pg_advisory_xact_lock(hashtext('ipcmesh.outbox.create'))"
		q.listening = true
		q.rebind()
	}
	return q
}

// rebind turns every statement's ? placeholders into PostgreSQL's $n.
func (q *queries) rebind() {
	for _, s := range []*string{&q.insert, &q.batch, &q.delete, &q.pending, &q.lease, &q.holder, &q.release} {
		*s = dollars(*s)
	}
}

// dollars numbers the ? of s as $1, $2...; the statements have no ? in
// literals.
func dollars(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
	}
	return b.String()
}

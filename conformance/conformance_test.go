package conformance_test

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/conformance"
	"github.com/exprsn/ipcmesh/subjects"
)

// class returns the conformance error class of a subjects error.
func class(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, subjects.ErrReserved):
		return conformance.Reserved
	case errors.Is(err, subjects.ErrInvalidName):
		return conformance.InvalidName
	}
	return "unclassified: " + err.Error()
}

// listen computes what a service listening to pattern subscribes to, as a
// worker does: the service name is validated first.
func listen(ns, service, pattern string) (*conformance.Listen, error) {
	if err := subjects.ValidateService(service); err != nil {
		return nil, err
	}
	var l conformance.Listen
	var err error
	if l.Targeted, err = subjects.Filter(ns, service, pattern); err != nil {
		return nil, err
	}
	if l.Broadcast, err = subjects.Filter(ns, subjects.Broadcast, pattern); err != nil {
		return nil, err
	}
	if l.Request, err = subjects.RequestFilter(ns, service, pattern); err != nil {
		return nil, err
	}
	l.QueueGroup = subjects.QueueGroup(service, pattern)
	return &l, nil
}

// TestSubjects runs every subject vector against the subjects package.
func TestSubjects(t *testing.T) {
	vectors, err := conformance.Subjects()
	require.NoError(t, err)
	ops := map[string]int{}
	for _, v := range vectors {
		ops[v.Op]++
		t.Run(v.Name, func(t *testing.T) {
			switch v.Op {
			case conformance.OpEvent, conformance.OpRequest:
				subjectOf := subjects.Subject
				if v.Op == conformance.OpRequest {
					subjectOf = subjects.RequestSubject
				}
				got, err := subjectOf(v.Namespace, v.Target, v.Event)
				assert.Equal(t, v.Error, class(err))
				assert.Equal(t, v.Subject, got)
			case conformance.OpListen:
				got, err := listen(v.Namespace, v.Service, v.Event)
				assert.Equal(t, v.Error, class(err))
				assert.Equal(t, v.Listen, got)
			case conformance.OpParse:
				got, err := subjects.Parse(v.Subject)
				assert.Equal(t, v.Error, class(err))
				assert.Equal(t, subjects.Address{Namespace: v.Namespace, Target: v.Target, Event: v.Event}, got)
			}
		})
	}
	for _, op := range []string{conformance.OpEvent, conformance.OpRequest, conformance.OpListen, conformance.OpParse} {
		assert.NotZero(t, ops[op], "no vector for op %s", op)
	}
}

// TestEnvelopesCoverEveryClass checks that the envelope files load and hold
// valid and invalid vectors of both modes and of every error class. The
// vectors themselves run in codec/conformance_test.go.
func TestEnvelopesCoverEveryClass(t *testing.T) {
	vectors, err := conformance.Envelopes()
	require.NoError(t, err)
	seen := map[string]int{}
	for _, v := range vectors {
		seen[v.File]++
		if v.Error != "" {
			seen[string(v.Error)]++
		} else {
			seen["valid"]++
		}
		if v.Canonical {
			seen["canonical"]++
		}
	}
	for _, want := range append(conformance.EnvelopeFiles, "valid", "canonical",
		string(conformance.Malformed), string(conformance.MissingAttribute), string(conformance.SpecVersion),
		string(conformance.InvalidUTF8), string(conformance.InvalidAttribute)) {
		assert.NotZero(t, seen[want], "no vector for %s", want)
	}
}

// TestDuplicateKeys runs every duplicate-key vector against
// subjects.DuplicateKey, the Nats-Msg-Id Go workers set, and checks that the
// file covers what the derivation must get right.
func TestDuplicateKeys(t *testing.T) {
	vectors, err := conformance.DuplicateKeys()
	require.NoError(t, err)
	byKey := map[string]string{}
	sources := map[string]map[string]bool{} // id -> sources with that id
	var multiByte, longID bool
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			assert.Equal(t, v.Key, subjects.DuplicateKey(v.Source, v.ID))
		})
		if other, ok := byKey[v.Key]; ok {
			t.Errorf("vectors %s and %s have the same key %s", other, v.Name, v.Key)
		}
		byKey[v.Key] = v.Name
		if sources[v.ID] == nil {
			sources[v.ID] = map[string]bool{}
		}
		sources[v.ID][v.Source] = true
		multiByte = multiByte || utf8.RuneCountInString(v.Source) < len(v.Source) && utf8.RuneCountInString(v.ID) < len(v.ID)
		longID = longID || len(v.ID) >= 5000
	}
	sameID := false
	for _, s := range sources {
		sameID = sameID || len(s) > 1
	}
	assert.True(t, sameID, "no id with two sources")
	assert.True(t, multiByte, "no vector with multi-byte UTF-8 in both source and id")
	assert.True(t, longID, "no id of 5,000 bytes or more")
	// Pairs that a key of source and id joined without the length would
	// confuse.
	colon, concat := 0, 0
	for _, v := range vectors {
		if v.Source+":"+v.ID == "a:b:c" {
			colon++
		}
		if v.Source+v.ID == "abc" {
			concat++
		}
	}
	assert.Equal(t, 2, colon, "want (\"a:b\", \"c\") and (\"a\", \"b:c\")")
	assert.Equal(t, 2, concat, "want (\"ab\", \"c\") and (\"a\", \"bc\")")
}

// TestVectorNamesAreUnique checks that no two vectors of any files share a
// name.
func TestVectorNamesAreUnique(t *testing.T) {
	var names []string
	envelopes, err := conformance.Envelopes()
	require.NoError(t, err)
	for _, v := range envelopes {
		names = append(names, v.Name)
	}
	subjectVectors, err := conformance.Subjects()
	require.NoError(t, err)
	for _, v := range subjectVectors {
		names = append(names, v.Name)
	}
	keys, err := conformance.DuplicateKeys()
	require.NoError(t, err)
	for _, v := range keys {
		names = append(names, v.Name)
	}
	seen := map[string]bool{}
	for _, n := range names {
		assert.False(t, seen[n], "vector name %q used twice", n)
		seen[n] = true
	}
}

// TestFilesAreEmbedded checks that every vector file and the README are in
// Files, for implementations that load them from the Go module.
func TestFilesAreEmbedded(t *testing.T) {
	for _, name := range append(conformance.EnvelopeFiles, conformance.SubjectFile, conformance.DuplicateKeyFile, "README.md") {
		_, err := conformance.Files.ReadFile(name)
		assert.NoError(t, err, name)
	}
}

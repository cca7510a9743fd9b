package outbound

import (
	"sync"

	"github.com/exprsn/ipcmesh/subjects"
)

// maxCachedSubjects bounds the subject cache; past it, subjects are built
// and validated on every call.
const maxCachedSubjects = 4096

// subjectCache remembers the validated subjects of (target, event) pairs,
// so that an emit neither validates names nor builds a string again.
type subjectCache struct {
	mu sync.RWMutex
	m  map[subjectKey]string
}

type subjectKey struct {
	target, event string
	request       bool
}

// subject returns the subject of event sent to target in namespace ns, a
// request subject if request is set.
func (c *subjectCache) subject(ns, target, event string, request bool) (string, error) {
	key := subjectKey{target, event, request}
	c.mu.RLock()
	s, ok := c.m[key]
	c.mu.RUnlock()
	if ok {
		return s, nil
	}
	build := subjects.Subject
	if request {
		build = subjects.RequestSubject
	}
	s, err := build(ns, target, event)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[subjectKey]string)
	}
	if len(c.m) < maxCachedSubjects {
		c.m[key] = s
	}
	c.mu.Unlock()
	return s, nil
}

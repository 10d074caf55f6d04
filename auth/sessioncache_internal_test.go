package auth

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeReads are the Store methods that change nothing, and TouchSession,
// which Validate applies to the session cache itself.
var storeReads = []string{"User", "UserByUsername", "Users", "SessionByToken", "Sessions", "TOTP", "RecoveryCodesLeft",
	"PasswordReset", "TouchSession"}

// TestCachingStoreClearsOnEveryWrite: every method of Store is a read, or
// empties the session cache through cachingStore when called (so a method
// added to Store fails here until it is sorted).
func TestCachingStoreClearsOnEveryWrite(t *testing.T) {
	c := newSessionCache(time.Hour)
	cs := cachingStore{Store: NewMemoryStore(), c: c}
	st := reflect.TypeFor[Store]()
	now := time.Now()
	sess := Session{TokenHash: []byte("0123456789abcdef0123456789abcdef"), ID: "s"}
	for i := range st.NumMethod() {
		name := st.Method(i).Name
		_, _, gen, _ := c.get(sess.TokenHash, now)
		c.put(gen, sess, User{ID: "u"}, now)
		_, _, _, ok := c.get(sess.TokenHash, now)
		require.True(t, ok)
		m := reflect.ValueOf(cs).MethodByName(name)
		args := []reflect.Value{reflect.ValueOf(context.Background())}
		for j := 1; j < m.Type().NumIn(); j++ {
			args = append(args, reflect.Zero(m.Type().In(j)))
		}
		m.Call(args)
		_, _, _, ok = c.get(sess.TokenHash, now)
		if slices.Contains(storeReads, name) {
			assert.True(t, ok, "%s is a read: it keeps the cache", name)
		} else {
			assert.False(t, ok, "%s writes: it must empty the session cache", name)
		}
	}
}

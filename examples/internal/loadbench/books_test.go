package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestQuantile(t *testing.T) {
	r := result{}
	for i := 1; i <= 100; i++ {
		r.lat = append(r.lat, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, r.quantile(0.5))
	assert.Equal(t, 99*time.Millisecond, r.quantile(0.99))
	assert.Equal(t, time.Duration(0), result{}.quantile(0.99))
}

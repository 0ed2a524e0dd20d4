package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"
)

// counted counts how often slog resolves it.
type counted struct{ calls int }

func (c *counted) LogValue() slog.Value {
	c.calls++
	return slog.StringValue("resolved")
}

func TestLazyHandlerIsASlogHandler(t *testing.T) {
	var buf bytes.Buffer
	slogtest.Run(t, func(*testing.T) slog.Handler {
		buf.Reset()
		return newLazyHandler(slog.NewJSONHandler(&buf, nil), slog.LevelInfo)
	}, func(t *testing.T) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	})
}

func TestLazyHandlerFormatsNothingForADisabledLevel(t *testing.T) {
	var buf bytes.Buffer
	value := &counted{}
	logger := slog.New(newLazyHandler(slog.NewTextHandler(&buf, nil), slog.LevelInfo))

	logger.With(slog.Any("args", value)).Debug("dropped")
	if value.calls != 0 || buf.Len() != 0 {
		t.Fatalf("a dropped record resolved its attrs %d times and wrote %q", value.calls, buf.String())
	}

	derived := logger.With(slog.Any("args", value))
	derived.Info("one")
	derived.Info("two")
	if value.calls != 1 {
		t.Fatalf("attrs of a derived logger resolved %d times for two records, want 1", value.calls)
	}
	if got := strings.Count(buf.String(), "args=resolved"); got != 2 {
		t.Fatalf("want args=resolved on both lines, got %q", buf.String())
	}
}

func TestLazyHandlerWritesWhatTheEagerHandlerWrites(t *testing.T) {
	noTime := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.Attr{}
		}
		return a
	}}
	var eager, lazy bytes.Buffer
	for _, l := range []*slog.Logger{
		slog.New(slog.NewTextHandler(&eager, noTime)),
		slog.New(newLazyHandler(slog.NewTextHandler(&lazy, noTime), slog.LevelInfo)),
	} {
		parent := l.With("name", "sqlite").WithGroup("q")
		a := parent.With("args", []any{"x", 1})
		b := parent.With("rows", 3) // a sibling: must not see a's attrs
		a.Info("a", "time", "1ms")
		b.WithGroup("r").Warn("b", "n", 2)
	}
	if eager.String() != lazy.String() {
		t.Fatalf("eager:\n%s\nlazy:\n%s", eager.String(), lazy.String())
	}
}
